"""A real SMTP server on 127.0.0.1 for flowc's tests (aiosmtpd).

Usage: python3 smtp_server.py PORT OUTDIR
Each accepted message is written to OUTDIR as a JSON file (envelope and
decoded headers and body). A recipient containing "reject" is refused with
550 (a permanent failure); one containing "busy" with 451 (temporary).
Prints "ready" once listening.
"""
import json
import os
import sys
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 No such user here"
        if "busy" in address:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": str(msg["Message-ID"]),
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "reply_to": str(msg["Reply-To"]) if msg["Reply-To"] else None,
            "subject": str(msg["Subject"]),
            "body": body.get_content() if body is not None else "",
        }
        self.count += 1
        name = "%d-%d.json" % (os.getpid(), self.count)
        tmp = os.path.join(self.outdir, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(tmp, os.path.join(self.outdir, name))
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    controller = Controller(Handler(outdir), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
