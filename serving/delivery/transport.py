"""Where a message goes: over SMTP (`CHURN_SMTP_URL`) or, in development, into a local
mailbox directory (`CHURN_MAILBOX_DIR`, one .eml file a message, listed by
`python -m serving.cli mailbox`)."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from serving.config import Settings


def build(settings: Settings, message_id: str, address: str, subject: str,
          body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = address
    msg["Subject"] = subject
    # a stable Message-ID: a message sent again after a crash is recognisably the same one
    msg["Message-ID"] = f"<{message_id}@churn.outbox>"
    msg["Date"] = formatdate(localtime=False)
    msg.set_content(body)
    return msg


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

    def send(self, msg: EmailMessage, accepted: Callable[[], None] | None = None) -> None:
        """Send `msg`; `accepted` runs the moment the server has accepted it (its 250 to
        the end of DATA), before the connection is closed: a failing QUIT afterwards
        must not make an accepted message look undelivered."""
        cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        with cls(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(msg)
            if accepted is not None:
                accepted()


class MailboxTransport:
    """Development: each message a file in a directory (written atomically, named by its
    outbox id, so a message delivered twice is still one file)."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)

    def send(self, msg: EmailMessage, accepted: Callable[[], None] | None = None) -> None:
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
