"""Verifies a message's DKIM signature with dkimpy, an implementation
independent of flowc's (lettre's), the public key handed over in place of
DNS.

Usage: python3 dkim_verify.py MESSAGE.eml NAME RECORD

NAME is where the key would be published (SELECTOR._domainkey.DOMAIN);
RECORD its TXT record ("v=DKIM1; k=rsa; p=…"). Any other DNS name is not
found. Prints "pass" (exit 0) or "fail: WHY" (exit 1).
"""
import logging
import sys

import dkim


class Why(logging.Handler):
    """Keeps what dkimpy logs about a failure."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def main():
    path, name, record = sys.argv[1:4]
    with open(path, "rb") as f:
        message = f.read()

    def dnsfunc(qname, timeout=5):
        asked = qname.decode() if isinstance(qname, bytes) else qname
        return record.encode() if asked.rstrip(".") == name else None

    logger = logging.getLogger("dkim_verify")
    why = Why()
    logger.addHandler(why)
    logger.setLevel(logging.DEBUG)
    try:
        ok = dkim.DKIM(message, logger=logger).verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        ok = False
        why.lines.append(str(e))
    if ok:
        print("pass")
        sys.exit(0)
    print("fail: " + " | ".join(why.lines[-3:] or ["no valid signature"]))
    sys.exit(1)


if __name__ == "__main__":
    main()
