"""Where a message goes: over SMTP (`CHURN_SMTP_URL`) or, in development, into a local
mailbox directory (`CHURN_MAILBOX_DIR`, one .eml file a message, listed by
`python -m serving.cli mailbox`).

A message has exactly one recipient, the customer's checked address
(`serving.customers.contacts.check`): its To header is built from the address's parts
(`email.headerregistry.Address`, never parsed from text, so no encoded word, comma or
display name can name anyone else), checked to name that one address, and SMTP is given
it explicitly as the only envelope recipient (RCPT TO), never the headers' addresses."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from serving.config import Settings
from serving.customers.contacts import Mailbox


class RecipientMismatch(ValueError):
    """A message whose To header does not name exactly its one recipient: not sent."""


def build(settings: Settings, message_id: str, to: Mailbox, subject: str,
          body: str) -> EmailMessage:
    """The message to `to` alone (a checked address: `contacts.check`)."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = Address(username=to.local, domain=to.domain)
    only_recipient(msg, to.ascii)
    msg["Subject"] = subject
    # a stable Message-ID: a message sent again after a crash is recognisably the same one
    msg["Message-ID"] = f"<{message_id}@churn.outbox>"
    msg["Date"] = formatdate(localtime=False)
    msg.set_content(body)
    return msg


def only_recipient(msg: EmailMessage, recipient: str) -> None:
    """`RecipientMismatch` unless `msg` names `recipient` and no one else (To, and no Cc,
    Bcc nor Resent-* header)."""
    to = msg["To"]
    named = [a.addr_spec for a in to.addresses] if to is not None else []
    others = [h for h in ("Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc") if h in msg]
    if named != [recipient] or others:
        raise RecipientMismatch(
            f"the message names {len(named)} recipient(s) in To and headers {others}; "
            "expected exactly its one checked address: not sent")


class SmtpTransport:
    def __init__(self, url: str, timeout: float = 10.0):
        parts = urlsplit(url)
        self.ssl = parts.scheme == "smtps"
        self.starttls = parts.scheme == "smtp+starttls"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.ssl else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def send(self, msg: EmailMessage, recipient: str,
             accepted: Callable[[], None] | None = None) -> None:
        """Send `msg` to `recipient` alone (the envelope's only RCPT TO, whatever the
        headers say; `msg` must name it and no one else); `accepted` runs the moment the
        server has accepted it (its 250 to the end of DATA), before the connection is
        closed: a failing QUIT afterwards must not make an accepted message look
        undelivered."""
        only_recipient(msg, recipient)
        cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        with cls(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(msg, to_addrs=[recipient])
            if accepted is not None:
                accepted()


class MailboxTransport:
    """Development: each message a file in a directory (written atomically, named by its
    outbox id, so a message delivered twice is still one file)."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)

    def send(self, msg: EmailMessage, recipient: str,
             accepted: Callable[[], None] | None = None) -> None:
        only_recipient(msg, recipient)
        self.dir.mkdir(parents=True, exist_ok=True)
        name = str(msg["Message-ID"]).strip("<>").split("@")[0]
        tmp = self.dir / f".{name}.tmp"
        tmp.write_bytes(bytes(msg))
        tmp.replace(self.dir / f"{name}.eml")  # idempotent by Message-ID: one file per id
        if accepted is not None:
            accepted()


def transport(settings: Settings) -> SmtpTransport | MailboxTransport:
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    return MailboxTransport(settings.mailbox_dir)


def read_mailbox(directory: str | Path) -> list[EmailMessage]:
    """The messages of a development mailbox, oldest first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    files = sorted(d.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [BytesParser(policy=default_policy).parsebytes(p.read_bytes())  # type: ignore[misc]
            for p in files]
