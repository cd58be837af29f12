"""A real SMTP server on loopback (aiosmtpd) for the delivery tests (issue 15)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import free_port


class Inbox:
    """An aiosmtpd handler keeping every message it accepts, and each one's envelope
    (`received`: sender, recipients as given to RCPT TO, message)."""

    def __init__(self):
        self.messages = []
        self.received: list[tuple[str, list[str], object]] = []
        self.on_message: Callable | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        from email import message_from_bytes
        from email.policy import default

        msg = message_from_bytes(envelope.content, policy=default)
        if self.on_message is not None:  # what the test checks as the message arrives
            self.on_message(msg)
        self.messages.append(msg)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    inbox.controller = controller
    yield inbox
    controller.stop()


def wait_for(predicate, seconds: float = 15.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
