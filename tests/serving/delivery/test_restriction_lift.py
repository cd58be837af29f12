"""Art. 18(3) (issue 15): a customer is told *before* their restriction is lifted. The
decision leaves the record restricted; the delivery worker lifts it in the transaction
that records the notice sent (through a real SMTP server on loopback). No contact
address: lifted at once, and the audit says no notice could be sent. A notice that fails
for good holds the restriction until a new address lets it go."""

from __future__ import annotations

from sqlalchemy import func, select

from serving.delivery.service import deliver_once
from serving.storage import outbox
from serving.storage.tables import Customer, RetentionTask
from tests.e2e.conftest import free_port
from tests.serving.conftest import set_contact


def _state(app, ref: str) -> tuple[bool, int]:  # noqa: ANN001
    """(restricted, open tasks) of the customer, as the database has them now."""
    with app.state.db.session() as s:
        restricted = s.scalar(select(Customer.restricted).where(Customer.customer_ref == ref))
        tasks = s.scalar(select(func.count()).select_from(RetentionTask).where(
            RetentionTask.customer_ref == ref,
            RetentionTask.status.in_(("open", "claimed")))) or 0
    return bool(restricted), tasks


def _events(api, ref: str, action: str) -> list[dict]:  # noqa: ANN001
    return api.get("/v1/audit/events", role="admin", customer_ref=ref,
                   action=action).json()["items"]


def _disputed(api, contest, customer, address: str | None, me_out: list | None = None):  # noqa: ANN001, ANN202
    """A high-risk customer (a task opened), with `address`, contesting: restricted."""
    p, me = contest.scored(customer)
    assert p["route"]["action"] == "human_contact"
    if address:
        set_contact(api, customer["customer_id"], address)
    d = contest.dispute(p, me)
    assert d.status_code == 201, d.text
    if me_out is not None:
        me_out.append(me)
    return p, d.json()["dispute_id"]


def test_the_restriction_is_lifted_only_once_the_notice_is_delivered(
        api, app, settings, contest, by_risk, smtp):
    me: list = []
    p, did = _disputed(api, contest, by_risk[0], "ines@example.org", me)
    ref = p["customer_ref"]
    assert _state(app, ref) == (True, 0)  # the contest cancelled the task
    summary = api.client.get("/v1/me/prediction", headers=me[0]).json()["summary"]
    assert "Your dispute is being reviewed" in summary
    r = contest.decide(did, {"decision": "upheld", "rationale": "Checked: correct."})
    assert r.status_code == 201, r.text
    assert r.json()["restriction_lifted"] is True  # this decision lifts it ...
    assert _state(app, ref) == (True, 0)  # ... but not before the customer is told
    (decided,) = _events(api, ref, "dispute.decided")
    assert decided["object_ids"]["restriction"] == "lift_after_notice"
    # what the customer reads meanwhile: decided, the record unused until they are told
    summary = api.client.get("/v1/me/prediction", headers=me[0]).json()["summary"]
    assert "Your dispute has been decided: your record stays unused until we have sent " \
           "you the decision." in summary
    # the SMTP server is down: nothing delivered, still restricted, no task
    down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}",
                                       "delivery_retry_seconds": 0})
    assert deliver_once(app.state.db, down)["retried"] == 1
    assert _state(app, ref) == (True, 0)
    # the server up: what the database says while the server receives the notice
    seen: list[tuple[bool, int]] = []
    smtp.on_message = lambda msg: seen.append(_state(app, ref))
    up = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_once(app.state.db, up)["sent"] == 1
    (notice,) = smtp.messages
    assert notice["To"] == "ines@example.org" and "lifted once" in notice.get_content()
    assert seen == [(True, 0)]  # told while still restricted
    assert _state(app, ref) == (False, 1)  # then lifted, and the upheld task back
    (lifted,) = _events(api, ref, "restriction.lifted")
    assert notice["Message-ID"] == f"<{lifted['object_ids']['message_id']}@churn.outbox>"
    assert lifted["object_ids"]["notice"] == "delivered" and lifted["object_ids"]["task_id"]
    assert lifted["seq"] > decided["seq"]
    assert deliver_once(app.state.db, up)["sent"] == 0  # nothing more to send


def test_without_a_contact_address_it_is_lifted_at_once_and_said(api, app, contest, by_risk):
    p, did = _disputed(api, contest, by_risk[1], None)
    ref = p["customer_ref"]
    r = contest.decide(did, {"decision": "upheld", "rationale": "Checked: correct."})
    assert r.status_code == 201, r.text
    assert _state(app, ref) == (False, 1)
    (decided,) = _events(api, ref, "dispute.decided")
    assert decided["object_ids"]["restriction"] == "lifted_no_contact"
    with app.state.db.session() as s:
        assert outbox.for_customer(s, ref) == []


def test_a_notice_that_fails_for_good_holds_the_restriction_until_a_new_address(
        api, app, settings, contest, by_risk, smtp):
    p, did = _disputed(api, contest, by_risk[2], "gone@example.org")
    ref = p["customer_ref"]
    contest.decide(did, {"decision": "overturned", "rationale": "The model was wrong."})
    dead = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}",
                                       "delivery_max_attempts": 1})
    assert deliver_once(app.state.db, dead)["failed"] == 1
    assert _state(app, ref)[0] is True  # held: never lifted untold
    (held,) = _events(api, ref, "restriction.lift_held")
    assert held["object_ids"]["attempts"] == 1
    # the portal knows a new address: the notice goes again
    set_contact(api, by_risk[2]["customer_id"], "new@example.org")
    up = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_once(app.state.db, up)["sent"] == 1
    assert [m["To"] for m in smtp.messages] == ["new@example.org"]
    assert _state(app, ref) == (False, 0)  # lifted; overturned: no task


def test_a_dispute_opened_before_the_notice_arrives_keeps_the_restriction(
        api, app, settings, contest, by_risk, smtp, host):
    p, did = _disputed(api, contest, by_risk[3], "two@example.org")
    ref = p["customer_ref"]
    contest.decide(did, {"decision": "upheld", "rationale": "Checked: correct."})
    # meanwhile the customer contests again (a second factor of the same prediction)
    again = contest.dispute(p, contest_headers(api, by_risk[3]["customer_id"]), n=2)
    assert again.status_code == 201, again.text
    up = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_once(app.state.db, up)["sent"] == 1
    assert _state(app, ref) == (True, 0)  # the open dispute keeps it restricted
    assert _events(api, ref, "restriction.lifted") == []


def contest_headers(api, customer_id: str) -> dict[str, str]:  # noqa: ANN001
    from tests.serving.conftest import access_token, bearer

    return bearer(access_token(api, customer_id))
