"""A real SMTP server on 127.0.0.1 for flowc's tests (aiosmtpd).

Usage: python3 smtp_server.py PORT OUTDIR [--auth PASSWORD] [--tls CERT KEY]

Each accepted message is written to OUTDIR as a JSON file (envelope and
decoded headers and body). Prints "ready" once listening.

Options:
  --auth PASSWORD   require AUTH (PLAIN or LOGIN, any user name) with this
                    password before MAIL; offered without TLS unless --tls
                    is given too, in which case only after STARTTLS.
  --tls CERT KEY    offer STARTTLS with this certificate and key.

Faults, chosen by a word in the recipient's address:
  reject    550 at RCPT (a permanent rejection of the recipient)
  busy      451 at RCPT (temporary)
  spam      554 after the final "." of DATA (a permanent rejection)
  drop      the message is stored, then the connection is cut before the reply
  noreply   the message is stored, then the reply waits until OUTDIR/release
            exists (at most 60 s): a client with a short timeout gives up first
  slow      the first RCPT for that address waits until OUTDIR/release exists
            (at most 60 s); later ones are answered at once
  hangup    the message is accepted, then the server closes the connection
            (as one that closes idle connections would)

Each message is also kept as received (after the dot-unstuffing of DATA,
with CRLF line ends) in a file of the same name ending in .eml, for checks
of the bytes themselves (a DKIM signature).

Side files in OUTDIR: connections.log (one line per TCP connection),
auth.log (one line per AUTH attempt: "tls=0|1 ok=0|1").
"""
import argparse
import asyncio
import json
import logging
import os
import ssl
import time
import warnings
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def append(path, line):
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


async def wait_for(path, limit=60.0):
    deadline = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0
        self.slowed = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 No such user here"
        if "busy" in address:
            return "451 4.3.0 Try again later"
        if "slow" in address and address not in self.slowed:
            self.slowed.add(address)
            await wait_for(os.path.join(self.outdir, "release"))
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def store(self, envelope):
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
            "date": str(msg["Date"]) if msg["Date"] else None,
            "body": body.get_content() if body is not None else "",
        }
        self.count += 1
        name = "%d-%d.json" % (os.getpid(), self.count)
        raw = name[: -len(".json")] + ".eml"
        record["raw"] = raw
        with open(os.path.join(self.outdir, "." + raw), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(os.path.join(self.outdir, "." + raw), os.path.join(self.outdir, raw))
        tmp = os.path.join(self.outdir, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(tmp, os.path.join(self.outdir, name))

    async def handle_DATA(self, server, session, envelope):
        rcpts = " ".join(envelope.rcpt_tos)
        if "spam" in rcpts:
            return "554 5.7.1 Message rejected as spam"
        self.store(envelope)
        if "drop" in rcpts:
            server.transport.abort()
            return "250 never seen"
        if "noreply" in rcpts:
            await wait_for(os.path.join(self.outdir, "release"))
        if "hangup" in rcpts:
            # Runs once the reply below is written.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"


class CountingSMTP(SMTP):
    """Notes every TCP connection (not the STARTTLS upgrade of one)."""

    outdir = None

    def connection_made(self, transport):
        if self._original_transport is None:
            append(os.path.join(self.outdir, "connections.log"), "connection")
        super().connection_made(transport)


class CountingController(Controller):
    def factory(self):
        return CountingSMTP(self.handler, **self.SMTP_kwargs)


def authenticator(outdir, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == password.encode()
        tls = session.ssl is not None
        append(os.path.join(outdir, "auth.log"), "tls=%d ok=%d" % (tls, ok))
        return AuthResult(success=ok, handled=False)

    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("outdir")
    parser.add_argument("--auth", metavar="PASSWORD")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    # Faults are the point here: keep aiosmtpd's warnings and tracebacks
    # about them (AUTH without TLS, failed handshakes) out of test output.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    os.makedirs(args.outdir, exist_ok=True)
    CountingSMTP.outdir = args.outdir
    kwargs = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls[0], args.tls[1])
        kwargs["tls_context"] = context
    if args.auth is not None:
        kwargs["authenticator"] = authenticator(args.outdir, args.auth)
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = bool(args.tls)
    controller = CountingController(
        Handler(args.outdir), hostname="127.0.0.1", port=args.port, **kwargs
    )
    controller.start()
    # start() made a test connection of its own: not one to count.
    try:
        os.remove(os.path.join(args.outdir, "connections.log"))
    except FileNotFoundError:
        pass
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
