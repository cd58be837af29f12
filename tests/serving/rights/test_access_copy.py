"""The customer's own copy (Art. 15, issue 18): every record held about them, compared
table by table with direct database queries, and nothing about anyone else; only their
own session downloads it; each download audited and recorded as an access request."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from serving.auth.principal import Principal
from serving.errors import Forbidden
from serving.rights import copy
from serving.storage.tables import (
    AccessLink,
    AuditEvent,
    AuthSession,
    Dispute,
    DisputeDecision,
    Objection,
    OutboxMessage,
    Prediction,
    RetentionTask,
    RightsRequest,
)
from tests.serving.conftest import access_token, bearer, deliver, dispute_body, set_contact


def _ids(session, model, ref, col="id"):  # noqa: ANN001, ANN202
    return sorted(session.scalars(select(getattr(model, col)).where(model.customer_ref == ref)))


def _story(api, app, host, who, address, lang):  # noqa: ANN001, ANN202
    """A customer with a bit of everything: predictions, a task worked by an agent, a
    decided dispute (rectified: a new prediction), an objection withdrawn, a rights
    request, messages. Returns (ref, session headers, customer id)."""
    cid = who["customer_id"]
    first = api.score(who).json()
    set_contact(api, cid, address, lang)
    task = first.get("retention_task_id")
    if task:
        assert api.post(f"/v1/retention-tasks/{task}/claim").status_code == 200
        done = api.post(f"/v1/retention-tasks/{task}/complete",
                        json={"outcome": "no_contact", "note": f"voicemail for {address}"})
        assert done.status_code == 200, done.text
    second = api.score(who).json()
    me = bearer(access_token(api, cid))
    body = dispute_body(second, host)
    d = api.client.post("/v1/disputes", json=body, headers=me)
    assert d.status_code == 201, d.text
    corrected = {c["feature"]: c["claimed_value"] for c in body["contested_features"]}
    r = api.post(f"/v1/disputes/{d.json()['dispute_id']}/decision", role="reviewer",
                 json={"decision": "rectified", "rationale": "Checked on file.",
                       "corrected_features": corrected})
    assert r.status_code == 201, r.text
    assert api.client.post("/v1/objections", headers=me).status_code == 201
    assert api.client.delete("/v1/objections", headers=me).status_code == 200
    rr = api.client.post("/v1/me/rights-requests",
                         json={"kind": "rectification", "details": f"about {address}"},
                         headers=me)
    assert rr.status_code == 201, rr.text
    deliver(app)
    return first["customer_ref"], me, cid


def test_the_copy_holds_every_record_about_the_customer_and_nothing_about_anyone_else(
        api, app, host, by_risk):
    a_ref, a_me, a_id = _story(api, app, host, by_risk[0], "anne@example.org", "fr")
    b_ref, b_me, b_id = _story(api, app, host, by_risk[1], "bert@example.org", "en")
    with app.state.db.session() as s:
        want = {
            "predictions": _ids(s, Prediction, a_ref),
            "disputes": _ids(s, Dispute, a_ref),
            "tasks": _ids(s, RetentionTask, a_ref),
            "messages": _ids(s, OutboxMessage, a_ref),
            "rights": _ids(s, RightsRequest, a_ref),
            "objections": len(_ids(s, Objection, a_ref)),
            "links": len(_ids(s, AccessLink, a_ref)),
            "audit": _ids(s, AuditEvent, a_ref, "seq"),
            "decisions": sorted(s.scalars(select(DisputeDecision.dispute_id).join(
                Dispute, Dispute.id == DisputeDecision.dispute_id)
                .where(Dispute.customer_ref == a_ref))),
            "sessions": len(list(s.scalars(select(AuthSession.id).where(
                AuthSession.customer_ref == a_ref, AuthSession.kind == "customer")))),
        }
        b_predictions = _ids(s, Prediction, b_ref)
        b_disputes = _ids(s, Dispute, b_ref)
        b_messages = _ids(s, OutboxMessage, b_ref)
    assert len(want["predictions"]) >= 3 and want["tasks"] and want["decisions"]
    assert len(want["messages"]) >= 3  # decision, objection, rights request

    r = api.client.get("/v1/me/copy", params={"lang": "fr"}, headers=a_me)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["lang"] == "fr" and got["customer_ref"] == a_ref and got["customer_id"] == a_id
    assert sorted(p["prediction"]["prediction_id"] for p in got["predictions"]) \
        == want["predictions"]
    assert sorted(d["dispute_id"] for d in got["disputes"]) == want["disputes"]
    assert sorted(d["dispute_id"] for d in got["disputes"] if d["decision"]) \
        == want["decisions"]
    assert sorted(t["task_id"] for t in got["tasks"]) == want["tasks"]
    assert sorted(m["message_id"] for m in got["messages"]) == want["messages"]
    assert sorted(x["request_id"] for x in got["rights_requests"]) == want["rights"]
    assert len(got["objections"]) == want["objections"]
    assert len(got["access_links"]) == want["links"]
    assert len(got["sessions"]) == want["sessions"]
    assert sorted(e["seq"] for e in got["history"]) == want["audit"]
    assert all(e["what"] != e["action"] for e in got["history"])  # each in words
    assert any(e["what"] == "Une estimation a été faite à votre sujet." for e in got["history"])
    assert got["contact_address"] == "anne@example.org"
    # each prediction explained: contributions, model version, the data it used
    for p in got["predictions"]:
        pred = p["prediction"]
        assert pred["model"]["version"] and pred["contributions"] and p["data_used"]
        total = pred["base_value"] + sum(c["shap"] for c in pred["contributions"])
        assert total == pytest.approx(pred["margin"], abs=1e-6)
    assert any(p["source"] == "review" for p in got["predictions"])  # the rectified one
    assert any(t["outcome"] == "no_contact" and "anne@example.org" in t["note"]
               for t in got["tasks"])
    # the procedure and principles applied, in French; the DPO and the CNIL
    proc = got["procedure"]
    assert proc["purpose"].startswith("Nous estimons") and proc["what_it_cannot_do"]
    assert any("catégorie" in h for h in proc["how_it_decides"])
    features = proc["models"][0]["features"]
    assert features and all(f["purpose"] for f in features)
    assert "CNIL" in got["authority"]["name"]
    # what would change the estimate, from the recourse service (issue 16)
    assert got["recourse"]["available"] is True and got["recourse"]["text"]
    for o in got["recourse"]["options"]:
        assert o["changes"] and o["risk_band"] in ("low", "medium")
    # never a staff member's account id
    assert "staff:" not in r.text
    # nothing about the other customer
    for foreign in [b_ref, b_id, "bert@example.org", *b_predictions, *b_disputes, *b_messages]:
        assert foreign not in r.text, foreign
    # B's own copy has B and not A
    rb = api.client.get("/v1/me/copy", headers=b_me)
    assert rb.status_code == 200 and rb.json()["customer_ref"] == b_ref
    for foreign in [a_ref, a_id, "anne@example.org", *want["predictions"]]:
        assert foreign not in rb.text, foreign
    # the download is audited and recorded as an access request answered at once
    with app.state.db.session() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.customer_ref == a_ref)
                                 .order_by(AuditEvent.seq.desc()).limit(1)))
        access = list(s.scalars(select(RightsRequest).where(
            RightsRequest.customer_ref == a_ref, RightsRequest.kind == "access")))
    assert actions == ["rights.copy_downloaded"]
    assert len(access) == 1 and access[0].status == "done" and access[0].closed_at
    objects = json.dumps([e["action"] for e in got["history"]])
    assert "anne@example.org" not in objects


def test_only_the_customers_own_session_reads_the_copy(api, app, customers):
    c = customers[20]
    ref = api.score(c).json()["customer_ref"]
    for role in ("agent", "reviewer", "admin", "integration", "auditor"):
        assert api.get("/v1/me/copy", role=role).status_code == 403, role
    assert api.client.get("/v1/me/copy").status_code == 401
    assisting = Principal(kind="staff", role="agent", actor="staff:x").assisting(ref)
    with app.state.db.session() as s, pytest.raises(Forbidden):
        copy.build(s, app.state.specs, app.state.settings, assisting)
