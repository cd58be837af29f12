"""Customers are told (issue 15): on a decision (with its reason, in their language), the
rectification and the restriction lifted by it, an objection, an erasure; with a fresh
link where they can act; audited; visible to the reviewer."""

from __future__ import annotations

from tests.serving.conftest import deliver, dispute_body, follow_link, mailbox, set_contact


def _notices(api, ref):  # noqa: ANN001, ANN202
    return api.get("/v1/audit/events", role="admin", customer_ref=ref,
                   action="notice.queued").json()["items"]


def test_a_decision_is_told_in_the_customers_language_with_a_fresh_link(
        api, app, settings, contest, by_risk, host):
    who = by_risk[0]
    p, me = contest.scored(who)
    set_contact(api, who["customer_id"], "claire@example.org", "fr")
    d = contest.dispute(p, me).json()
    spec = host.current().spec
    body = dispute_body(p, host)
    corrected = {c["feature"]: c["claimed_value"] for c in body["contested_features"]}
    assert spec  # the claimed values are valid corrections
    r = contest.decide(d["dispute_id"], {"decision": "rectified",
                                         "rationale": "Contrat vérifié au dossier.",
                                         "corrected_features": corrected})
    assert r.status_code == 201, r.text
    assert deliver(app)["sent"] == 1
    (msg,) = mailbox(settings, "claire@example.org")
    text = msg.get_content()
    assert msg["Subject"] == "Une décision sur votre contestation"
    assert "Contrat vérifié au dossier." in text and "rectifiées" in text
    assert "limitation de votre dossier est levée" in text
    fresh = follow_link(api, msg)  # the notice's own link
    assert api.client.get("/v1/me", headers=fresh).status_code == 200
    (queued,) = _notices(api, p["customer_ref"])
    assert queued["object_ids"]["kind"] == "decision" and queued["object_ids"]["link_id"]
    # the reviewer sees what the customer was told
    seen = api.get(f"/v1/disputes/{d['dispute_id']}", role="reviewer").json()
    assert [(n["kind"], n["status"]) for n in seen["notices"]] == [("decision", "sent")]


def test_objection_and_erasure_are_told(api, app, settings, customers):
    c = customers[3]
    p = api.score(c).json()
    set_contact(api, c["customer_id"], "obj@example.org")
    r = api.post(f"/v1/customers/{c['customer_id']}/assisted/objections")
    assert r.status_code == 201
    deliver(app)
    (obj,) = mailbox(settings, "obj@example.org")
    assert "by phone" in obj.get_content() and "withdraw" in obj.get_content()
    me = follow_link(api, obj)  # the link lets them withdraw
    assert api.client.delete("/v1/objections", headers=me).status_code == 200
    r = api.client.delete(f"/v1/customers/{c['customer_id']}", headers=api.headers("admin"))
    assert r.status_code == 200
    deliver(app)
    erased = mailbox(settings, "obj@example.org")[-1]
    assert erased["Subject"] == "Your data has been erased" and "token=" not in \
        erased.get_content()
    kinds = [e["object_ids"]["kind"] for e in _notices(api, p["customer_ref"])]
    assert sorted(kinds) == ["erasure", "objection"]
    with app.state.db.session() as s:  # the kept notice holds no address once sent
        from serving.storage import outbox

        rows = outbox.for_customer(s, p["customer_ref"])
    assert [(m.kind, m.status, m.address) for m in rows] == [("erasure", "sent", None)]
