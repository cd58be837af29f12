"""The outbox (issue 15): messages written with their cause, delivered by a worker over a
real SMTP server on loopback (aiosmtpd), retried, recorded, surviving a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from serving.delivery.service import deliver_once
from serving.main import create_app
from serving.storage import outbox
from tests.e2e.conftest import free_port
from tests.serving.conftest import (
    REPO,
    bearer,
    dispute_body,
    link_in,
    open_session,
    set_contact,
)


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
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


def test_link_over_smtp_opened_once(settings, host, tokens, customers, smtp):
    live = settings.model_copy(update={"smtp_url": smtp.url, "delivery_worker": True,
                                       "delivery_poll_seconds": 0.1})
    with TestClient(create_app(live, host=host)) as c:
        from tests.serving.conftest import Api

        api = Api(c, tokens)
        cid = customers[0]["customer_id"]
        assert api.score(customers[0]).status_code == 201
        set_contact(api, cid, "lea@example.org", "fr")
        r = api.post(f"/v1/customers/{cid}/access-link/send")
        assert r.status_code == 202
        wait_for(lambda: len(smtp.messages) == 1)  # the lifespan's worker delivered it
        (msg,) = smtp.messages
        assert msg["To"] == "lea@example.org" and msg["Subject"] == "Votre page personnelle"
        assert msg["Message-ID"] == f"<{r.json()['message_id']}@churn.outbox>"
        token = open_session(c, link_in(msg))
        assert c.get("/v1/me", headers=bearer(token)).status_code == 200
        assert c.post("/v1/sessions", json={"link": link_in(msg)}).status_code == 401
        with c.app.state.db.session() as s:
            row = outbox.get(s, r.json()["message_id"])
        assert row.status == "sent" and row.attempts == 1 and link_in(msg) not in row.body
        # the customer disputes, a reviewer decides: the decision notice arrives
        p = api.get("/v1/me/prediction", role="agent")  # staff: 403, nothing leaks
        assert p.status_code == 403
        mine = c.get("/v1/me/prediction", headers=bearer(token)).json()["prediction"]
        d = c.post("/v1/disputes", json=dispute_body(mine, host), headers=bearer(token))
        assert d.status_code == 201, d.text
        decided = api.post(f"/v1/disputes/{d.json()['dispute_id']}/decision", role="reviewer",
                           json={"decision": "overturned", "rationale": "Erreur de saisie."})
        assert decided.status_code == 201, decided.text
        wait_for(lambda: len(smtp.messages) == 2)
        notice = smtp.messages[1]
        assert notice["Subject"] == "Une décision sur votre contestation"
        assert "Erreur de saisie." in notice.get_content()


def test_failures_are_retried_and_recorded(api, app, customers, smtp, settings):
    cid = customers[0]["customer_id"]
    api.score(customers[0])
    set_contact(api, cid, "retry@example.org")
    mid = api.post(f"/v1/customers/{cid}/access-link/send").json()["message_id"]
    down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}",
                                       "delivery_retry_seconds": 0})
    assert deliver_once(app.state.db, down) == {"sent": 0, "retried": 1, "failed": 0}
    with app.state.db.session() as s:
        row = outbox.get(s, mid)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert "token=" not in row.last_error
    up = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_once(app.state.db, up)["sent"] == 1
    assert [m["To"] for m in smtp.messages] == ["retry@example.org"]
    last = settings.model_copy(update={"smtp_url": down.smtp_url, "delivery_max_attempts": 1})
    api.post(f"/v1/customers/{cid}/access-link/send")
    assert deliver_once(app.state.db, last)["failed"] == 1  # recorded: failed


@pytest.mark.slow
def test_outbox_survives_sigkill_of_the_worker(api, app, customers, smtp, settings,
                                               database_url, tmp_path: Path):
    """Queue 40 messages, SIGKILL the `deliver` worker three times while it sends: every
    message arrives, and at most the one in flight at each kill arrives again (same
    Message-ID: the receiver's dedupe key)."""
    cid = customers[0]["customer_id"]
    api.score(customers[0])
    set_contact(api, cid, "kill@example.org")
    ids = {api.post(f"/v1/customers/{cid}/access-link/send").json()["message_id"]
           for _ in range(40)}
    env = os.environ | {"CHURN_DATABASE_URL": database_url, "CHURN_SMTP_URL": smtp.url,
                        "CHURN_DELIVERY_POLL_SECONDS": "0.05",
                        "CHURN_DELIVERY_LEASE_SECONDS": "1",
                        "CHURN_ADMIN_TOKEN": "x" * 32}

    def slow_smtp_worker() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "serving.cli", "deliver"], cwd=REPO,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    kills = 0
    for target in (5, 15, 25):
        proc = slow_smtp_worker()
        wait_for(lambda t=target: len(smtp.messages) >= t, 60)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    def all_sent() -> bool:
        with app.state.db.session() as s:
            return {outbox.get(s, i).status for i in ids} == {"sent"}

    proc = slow_smtp_worker()
    try:
        wait_for(lambda: {m["Message-ID"][1:].split("@")[0] for m in smtp.messages} >= ids, 60)
        # the last message reaches the server a moment before the worker records it as
        # sent: the final worker is left to finish, not killed in between
        wait_for(all_sent, 30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    received = [m["Message-ID"][1:].split("@")[0] for m in smtp.messages]
    assert set(received) == ids  # nothing lost
    assert len(received) - len(ids) <= kills  # at most the one in flight, per kill
    with app.state.db.session() as s:
        assert {outbox.get(s, i).status for i in ids} == {"sent"}
