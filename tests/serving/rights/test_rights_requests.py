"""Rights requests as tracked cases (issue 18): each kind through its deadline, extension
and notice; erasure carried out by a person or automatically after the wait, or cancelled;
objection and restriction through their own flows; the staff list with overdue first;
roles. Time is controlled by passing `now` to the service (no sleeping)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from serving.auth.principal import Principal
from serving.rights import service as rights
from serving.rights.schemas import RightsClose, RightsExtend, RightsRequestCreate
from serving.storage.tables import (
    AuditEvent,
    Customer,
    Dispute,
    Erasure,
    Objection,
    OutboxMessage,
    Prediction,
    RightsRequest,
)
from tests.serving.conftest import access_token, bearer, deliver, mailbox, set_contact

T0 = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)  # one month later: 28 February


def _customer(api, c, address, lang="en"):  # noqa: ANN001, ANN202
    """Scored, with a contact address; (ref, customer-session headers)."""
    r = api.score(c)
    assert r.status_code == 201, r.text
    set_contact(api, c["customer_id"], address, lang)
    return r.json()["customer_ref"], bearer(access_token(api, c["customer_id"]))


# a reviewer reading the queue in-process (the read is audited under this actor)
READER = Principal(kind="staff", role="reviewer", actor="staff:test-reader")


def _me(ref: str) -> Principal:
    return Principal(kind="customer", role="customer", actor=f"customer:{ref}",
                     customer_ref=ref, session_id="s-test")


def _staff(api, role="reviewer") -> Principal:  # noqa: ANN001
    """The test user of this role as a principal (its actor is in the staff table)."""
    me = api.get("/v1/admin/users", role="admin").json()["items"]
    user = next(u for u in me if u["role"] == role)
    return Principal(kind="staff", role=role, actor=f"staff:{user['user_id']}",
                     user_id=user["user_id"])


def _actions(app, ref):  # noqa: ANN001, ANN202
    with app.state.db.session() as s:
        return [a for (a,) in s.execute(select(AuditEvent.action)
                                        .where(AuditEvent.customer_ref == ref)
                                        .order_by(AuditEvent.seq))]


@pytest.mark.parametrize("kind", ["rectification", "erasure"])
def test_a_request_has_its_one_month_deadline_and_the_customer_is_told(
        api, app, settings, customers, kind):
    ref, _ = _customer(api, customers[0], "ana@example.org", "fr")
    with app.state.db.session() as s:
        made = rights.open_request(s, settings, app.state.specs, _me(ref),
                                   RightsRequestCreate(kind=kind, details="Mon adresse a changé."),
                                   now=T0, lang="fr")
    assert made.status == "open" and made.opened_via == "customer"
    assert made.due_at == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)  # end of a short month
    assert made.deadline == made.due_at and made.extended_due_at is None
    if kind == "erasure":
        assert made.carry_out_at == T0 + timedelta(days=settings.erasure_wait_days)
    assert deliver(app)["sent"] == 1
    (msg,) = mailbox(settings, "ana@example.org")
    text = msg.get_content()
    assert msg["Subject"] == "Nous avons reçu votre demande"
    assert "2026-02-28" in text and ("effacement" if kind == "erasure" else "rectification") in text
    if kind == "erasure":
        assert "automatiquement le 2026-02-07" in text
    assert "token=" in text  # a link to their page, where they follow or cancel it
    assert "rights.opened" in _actions(app, ref) and "notice.queued" in _actions(app, ref)
    # a second open request of the same kind is refused, naming the open one
    with app.state.db.session() as s, pytest.raises(Exception) as refused:
        rights.open_request(s, settings, app.state.specs, _me(ref),
                            RightsRequestCreate(kind=kind), now=T0)
    assert getattr(refused.value, "status_code", None) == 409
    # the customer's words never reach the audit log
    with app.state.db.session() as s:
        objects = " ".join(s.scalars(select(AuditEvent.objects)))
    assert "adresse" not in objects


def test_extension_by_two_months_with_a_reason_told_once_and_only_in_time(
        api, app, settings, customers):
    ref, _ = _customer(api, customers[1], "bo@example.org", "en")
    reviewer = _staff(api)
    with app.state.db.session() as s:
        rid = rights.open_request(s, settings, app.state.specs, _me(ref),
                                  RightsRequestCreate(kind="rectification",
                                                      details="My tenure is wrong."),
                                  now=T0).request_id
        taken = rights.take(s, reviewer, rid, now=T0 + timedelta(days=1))
        assert taken.handler == "test reviewer"
        out = rights.extend(s, settings, reviewer, rid,
                            RightsExtend(reason="We must check our billing archive first."),
                            now=T0 + timedelta(days=20))
    assert out.status == "extended"
    assert out.extended_due_at == datetime(2026, 4, 28, 9, 30, tzinfo=UTC)  # +2 months
    assert out.deadline == out.extended_due_at and not out.overdue
    deliver(app)
    opened, extended = mailbox(settings, "bo@example.org")
    text = extended.get_content()
    assert extended["Subject"] == "More time to answer your request"
    assert "2026-04-28" in text and "billing archive" in text
    assert "data protection authority" in text  # where to complain, in English
    with app.state.db.session() as s:
        with pytest.raises(Exception) as twice:
            rights.extend(s, settings, reviewer, rid, RightsExtend(reason="Still more time."),
                          now=T0 + timedelta(days=25))
        assert twice.value.status_code == 409
        # past the extended deadline: overdue, listed first
        late = T0 + timedelta(days=100)
        listed = rights.listing(s, "open", now=late, reader=READER)
        assert listed.overdue == 1 and listed.items[0].request_id == rid
        assert listed.items[0].overdue and listed.items[0].days_left < 0
        overdue = rights.listing(s, "overdue", now=late, reader=READER)
        assert [i.request_id for i in overdue.items] == [rid]
        done = rights.close(s, settings, reviewer, rid,
                            RightsClose(status="done", outcome="Your tenure is corrected."),
                            now=T0 + timedelta(days=60))
    assert done.status == "done" and done.answered_in_time is True
    deliver(app)
    closing = mailbox(settings, "bo@example.org")[-1]
    assert closing["Subject"] == "Our answer to your request"
    assert "Your tenure is corrected." in closing.get_content()
    assert _actions(app, ref).count("rights.extended") == 1
    assert "rights.taken" in _actions(app, ref) and "rights.closed" in _actions(app, ref)


def test_an_extension_after_the_first_month_is_refused_and_the_request_goes_overdue(
        api, app, settings, customers):
    ref, _ = _customer(api, customers[2], "cy@example.org")
    reviewer = _staff(api)
    with app.state.db.session() as s:
        rid = rights.open_request(s, settings, app.state.specs, _me(ref),
                                  RightsRequestCreate(kind="rectification"),
                                  now=T0).request_id
        listed = rights.listing(s, "open", now=T0 + timedelta(days=28), reader=READER)
        assert not listed.items[0].overdue
        with pytest.raises(Exception) as late:
            rights.extend(s, settings, reviewer, rid,
                          RightsExtend(reason="We are too busy this month."),
                          now=T0 + timedelta(days=29))
        assert late.value.status_code == 409 and "has passed" in late.value.detail
        item = rights.listing(s, "open", now=T0 + timedelta(days=29), reader=READER).items[0]
        assert item.overdue and item.days_left == -1
        closed = rights.close(s, settings, reviewer, rid,
                              RightsClose(status="refused",
                                          outcome="The value you gave is the one on file."),
                              now=T0 + timedelta(days=30))
    assert closed.answered_in_time is False and closed.status == "refused"


def test_a_refusal_gives_the_reason_and_the_authority_in_french(api, app, settings, customers):
    ref, _ = _customer(api, customers[4], "dee@example.org", "fr")
    reviewer = _staff(api)
    with app.state.db.session() as s:
        rid = rights.open_request(s, settings, app.state.specs, _me(ref),
                                  RightsRequestCreate(kind="rectification"), now=T0).request_id
        rights.close(s, settings, reviewer, rid,
                     RightsClose(status="refused", outcome="Cette valeur est exacte."), now=T0)
    deliver(app)
    text = mailbox(settings, "dee@example.org")[-1].get_content()
    assert "Cette valeur est exacte." in text and "ne pouvons pas donner suite" in text
    assert "CNIL" in text and "https://www.cnil.fr/fr/adresser-une-plainte" in text


def test_an_objection_request_goes_through_the_objection_flow(api, app, settings, customers):
    ref, me = _customer(api, customers[5], "eve@example.org")
    r = api.client.post("/v1/me/rights-requests", json={"kind": "objection"}, headers=me)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "done" and made["answered_in_time"] is True
    assert api.client.get("/v1/me", headers=me).json()["objected"] is True
    with app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Objection)
                        .where(Objection.customer_ref == ref)) == 1
    # one notice: the objection's own (with the link to withdraw it)
    deliver(app)
    (msg,) = mailbox(settings, "eve@example.org")
    assert msg["Subject"] == "Your objection to profiling is recorded"
    # a second objection request: already recorded, answered at once and told
    again = api.client.post("/v1/me/rights-requests", json={"kind": "objection"}, headers=me)
    assert again.status_code == 201 and "already" in again.json()["outcome"]


def test_a_restriction_request_goes_through_the_dispute_flow(api, app, settings, customers):
    ref, me = _customer(api, customers[6], "fay@example.org")
    r = api.client.post("/v1/me/rights-requests",
                        json={"kind": "restriction", "details": "I contest my tenure."},
                        headers=me)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "done" and made["related_id"]
    with app.state.db.session() as s:
        d = s.get(Dispute, made["related_id"])
        assert d.customer_ref == ref and d.status == "open"
        assert d.statement == "I contest my tenure." and d.wants_human_review
        assert s.get(Customer, ref).restricted
    assert api.client.get("/v1/me", headers=me).json()["restricted"] is True


def test_an_erasure_is_carried_out_automatically_after_the_wait(api, app, settings, customers):
    ref, _ = _customer(api, customers[7], "gil@example.org")
    with app.state.db.session() as s:
        rid = rights.open_request(s, settings, app.state.specs, _me(ref),
                                  RightsRequestCreate(kind="erasure", details="Please forget me."),
                                  now=T0).request_id
        early = rights.carry_out_due(s, settings, now=T0 + timedelta(days=6, hours=23))
        assert early.carried_out == [] and s.get(Customer, ref) is not None
        run = rights.carry_out_due(s, settings, now=T0 + timedelta(days=7))
    assert run.carried_out == [rid] and run.failed == []
    with app.state.db.session() as s:
        assert s.get(Customer, ref) is None and s.get(Erasure, ref) is not None
        assert s.scalar(select(func.count()).select_from(Prediction)
                        .where(Prediction.customer_ref == ref)) == 0
        row = s.get(RightsRequest, rid)
        assert row.status == "done" and row.handler == rights.SYSTEM
        assert row.details == "" and row.closed_at is not None  # their words are gone
        assert row.customer_ref == ref  # the request itself stays, pseudonymous
    deliver(app)
    assert mailbox(settings, "gil@example.org")[-1]["Subject"] == "Your data has been erased"
    assert _actions(app, ref)[-2:] == ["rights.closed", "customer.erased"]
    assert api.get("/v1/audit/verify", role="admin").json()["ok"] is True
    with app.state.db.session() as s:  # run again: nothing more to do
        assert rights.carry_out_due(s, settings, now=T0 + timedelta(days=8)).carried_out == []


def test_an_erasure_cancelled_during_the_wait_is_not_carried_out(api, app, settings, customers):
    ref, me = _customer(api, customers[8], "hal@example.org")
    r = api.client.post("/v1/me/rights-requests", json={"kind": "erasure"}, headers=me)
    assert r.status_code == 201, r.text
    rid = r.json()["request_id"]
    c = api.client.post(f"/v1/me/rights-requests/{rid}/cancel", headers=me)
    assert c.status_code == 200 and c.json()["status"] == "cancelled"
    assert api.client.post(f"/v1/me/rights-requests/{rid}/cancel", headers=me).status_code == 409
    with app.state.db.session() as s:
        later = datetime.now(UTC) + timedelta(days=60)
        assert rights.carry_out_due(s, settings, now=later).carried_out == []
        assert s.get(Customer, ref) is not None


def test_an_erasure_carried_out_by_a_person(api, app, settings, customers):
    ref, me = _customer(api, customers[9], "ivy@example.org")
    rid = api.client.post("/v1/me/rights-requests", json={"kind": "erasure"},
                          headers=me).json()["request_id"]
    listed = api.get("/v1/rights-requests", role="reviewer").json()["items"]
    assert [i["request_id"] for i in listed] == [rid] and listed[0]["kind"] == "erasure"
    assert api.post(f"/v1/rights-requests/{rid}/take", role="reviewer").status_code == 200
    r = api.post(f"/v1/rights-requests/{rid}/close", role="reviewer",
                 json={"status": "done", "outcome": "Erased as asked."})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done" and r.json()["handler"] == "test reviewer"
    with app.state.db.session() as s:
        assert s.get(Customer, ref) is None
    # the customer's session ended with their data
    assert api.client.get("/v1/me", headers=me).status_code == 401
    again = api.post(f"/v1/rights-requests/{rid}/close", role="reviewer",
                     json={"status": "done", "outcome": "Twice."})
    assert again.status_code == 409


def test_an_access_request_by_phone_is_answered_with_a_link_to_the_copy(
        api, app, settings, customers):
    c = customers[10]
    ref, _ = _customer(api, c, "jo@example.org")
    r = api.post(f"/v1/customers/{c['customer_id']}/assisted/rights-requests",
                 json={"kind": "access"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["opened_via"] == "assisted" and made["status"] == "open"
    rid = made["request_id"]
    closed = api.post(f"/v1/rights-requests/{rid}/close", role="reviewer",
                      json={"status": "done", "outcome": "Your copy is on your page."})
    assert closed.status_code == 200, closed.text
    deliver(app)
    opened, answer = mailbox(settings, "jo@example.org")
    assert "(by phone, with one of our staff)" in opened.get_content()
    assert "download it on your page" in answer.get_content() and "token=" in answer.get_content()


def test_roles(api, app, settings, customers):
    c = customers[11]
    ref, me = _customer(api, c, "kim@example.org")
    rid = api.client.post("/v1/me/rights-requests", json={"kind": "rectification"},
                          headers=me).json()["request_id"]
    # agents open requests for a caller but do not answer them; customers do neither
    assert api.get("/v1/rights-requests", role="agent").status_code == 403
    assert api.post(f"/v1/rights-requests/{rid}/take", role="agent").status_code == 403
    assert api.client.get("/v1/rights-requests", headers=me).status_code == 403
    assert api.client.post(f"/v1/rights-requests/{rid}/close", headers=me,
                           json={"status": "done", "outcome": "self"}).status_code == 403
    assert api.get("/v1/rights-requests", role="admin").status_code == 200
    # another customer cannot see or cancel this one
    other, them = _customer(api, customers[12], "lee@example.org")
    assert api.client.post(f"/v1/me/rights-requests/{rid}/cancel",
                           headers=them).status_code == 404
    assert api.client.get("/v1/me/rights-requests", headers=them).json()["items"] == []
    with app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) >= 1


def test_rights_due_on_the_command_line(api, app, settings, customers, database_url,
                                        monkeypatch, capsys):
    from serving.cli import main

    ref, _ = _customer(api, customers[13], "mo@example.org")
    with app.state.db.session() as s:
        rid = rights.open_request(s, settings, app.state.specs, _me(ref),
                                  RightsRequestCreate(kind="erasure"), now=T0).request_id
    monkeypatch.setenv("CHURN_DATABASE_URL", database_url)
    assert main(["rights-due", "--now", "2026-02-06"]) == 0
    assert '"carried_out": []' in capsys.readouterr().out
    assert main(["rights-due", "--now", "2026-02-07T09:30:00"]) == 0
    out = capsys.readouterr().out
    assert rid in out and '"failed": []' in out
    with app.state.db.session() as s:
        assert s.get(Customer, ref) is None and s.get(RightsRequest, rid).status == "done"


def test_an_access_request_by_phone_is_answered_by_the_customers_own_download(
        api, app, settings, customers):
    c = customers[14]
    ref, me = _customer(api, c, "ned@example.org")
    rid = api.post(f"/v1/customers/{c['customer_id']}/assisted/rights-requests",
                   json={"kind": "access"}).json()["request_id"]
    assert api.client.get("/v1/me/copy", headers=me).status_code == 200
    mine = api.client.get("/v1/me/rights-requests", headers=me).json()["items"]
    assert [(i["request_id"], i["status"], i["answered_in_time"]) for i in mine] \
        == [(rid, "done", True)]
    assert api.client.get("/v1/me/copy", headers=me).status_code == 200  # again: same day
    with app.state.db.session() as s:
        n = s.scalar(select(func.count()).select_from(RightsRequest)
                     .where(RightsRequest.customer_ref == ref))
    assert n == 2  # the phone request, then one self-service record for the day


def test_an_erasure_by_the_admin_closes_the_customers_open_requests(
        api, app, settings, customers):
    c = customers[15]
    ref, me = _customer(api, c, "ola@example.org")
    for kind in ("rectification", "erasure"):
        r = api.client.post("/v1/me/rights-requests", json={"kind": kind,
                                                             "details": "call me on 0601"},
                            headers=me)
        assert r.status_code == 201, r.text
    assert api.client.delete(f"/v1/customers/{c['customer_id']}",
                             headers=api.headers("admin")).status_code == 200
    with app.state.db.session() as s:
        rows = {r.kind: r for r in s.query(RightsRequest).filter_by(customer_ref=ref)}
        assert rows["erasure"].status == "done" and rows["rectification"].status == "cancelled"
        assert all(r.closed_at and r.details == "" for r in rows.values())
        ids = sorted(r.id for r in rows.values())
        later = datetime.now(UTC) + timedelta(days=90)  # (the audited read ends the session's
        # transaction: the rows above are read before it)
        assert rights.listing(s, "open", now=later, reader=READER).items == []
        erased = s.scalars(select(AuditEvent.objects).where(
            AuditEvent.customer_ref == ref, AuditEvent.action == "customer.erased")).one()
    assert sorted(json.loads(erased)["closed_request_ids"]) == ids
