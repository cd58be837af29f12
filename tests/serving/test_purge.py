"""The retention purge (issue 18): what is due goes, the audit chain still verifies, the
purge is audited with its counts, and nothing not yet due (or still needed) is touched.
Runs on SQLite and PostgreSQL (`database_url`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from serving.audit import service as audit
from serving.purge.service import purge
from serving.storage.tables import (
    AuditEvent,
    Dispute,
    DisputeDecision,
    OutboxMessage,
    Prediction,
    RetentionTask,
    ReviewJudgement,
)
from tests.serving.conftest import set_contact

LONG_AGO = datetime.now(UTC) - timedelta(days=5 * 365)


def _age(app, table, key, ids, **cols) -> None:  # noqa: ANN001
    """Move rows back in time (the test's clock: the service's never goes back)."""
    with app.state.db.session() as s:
        s.execute(sa.update(table).where(key.in_(list(ids))).values(**cols))
        s.commit()


def _ids(app, column, *where) -> set[str]:  # noqa: ANN001
    with app.state.db.session() as s:
        return {str(i) for i in s.scalars(sa.select(column).where(*where))}


def test_purge_deletes_what_is_due_and_nothing_else(app, api, contest, by_risk, settings):
    # -- a small world, every record made through the API -------------------------------
    # A: an old receipt superseded by a newer one (due), the newer one kept (latest)
    a = by_risk[0]
    first = api.score(a).json()
    r = api.score(a)
    assert r.status_code == 201
    latest_a = r.json()
    assert latest_a["prediction_id"] != first["prediction_id"]
    # B: an old receipt that is still the customer's latest (kept: the risk list shows it)
    b = api.score(by_risk[1]).json()
    # C: an old receipt under an open dispute (kept, with its dispute)
    pc, me_c = contest.scored(by_risk[2])
    dc = contest.dispute(pc, me_c).json()
    # D: a dispute decided long ago (due, with its decision); its receipt then goes too
    pd, me_d = contest.scored(by_risk[3])
    set_contact(api, by_risk[3]["customer_id"], "d@example.org")
    dd = contest.dispute(pd, me_d).json()
    assert contest.decide(dd["dispute_id"], {"decision": "overturned",
                                             "rationale": "Wrong data."}).status_code == 201
    # E: a dispute decided recently (kept, and its receipt with it)
    pe, me_e = contest.scored(by_risk[4])
    de = contest.dispute(pe, me_e).json()
    assert contest.decide(de["dispute_id"], {"decision": "upheld",
                                             "rationale": "Checked."}).status_code == 201
    # F: a task closed long ago (due), G: a task still open though old (kept)
    # (the riskiest that get a task: a control group may draw some of them)
    tasked = []
    for c in by_risk[5:40]:
        p = api.score(c).json()
        if p["retention_task_id"]:
            tasked.append((c, p))
        if len(tasked) == 2:
            break
    (cf, pf), (_, pg) = tasked
    # F gets a newer receipt, so the old one is not its latest
    assert api.score(cf).status_code == 201

    # messages: D's decision notice is pending; mark it sent long ago (due), and queue a
    # link message to D that stays pending (never due)
    sent = api.post(f"/v1/customers/{by_risk[3]['customer_id']}/access-link/send")
    assert sent.status_code == 202, sent.text
    with app.state.db.session() as s:
        msgs = list(s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.created_at)))
    assert msgs, "the decision should have queued a notice"
    notice = next(m for m in msgs if m.kind != "access_link")
    _age(app, OutboxMessage, OutboxMessage.id, [notice.id], status="sent",
         sent_at=LONG_AGO, created_at=LONG_AGO)
    pending = {m.id for m in msgs if m.id != notice.id}

    old_preds = [first["prediction_id"], b["prediction_id"], pc["prediction_id"],
                 pd["prediction_id"], pe["prediction_id"], pf["prediction_id"],
                 pg["prediction_id"]]
    _age(app, Prediction, Prediction.id, old_preds, created_at=LONG_AGO)
    _age(app, Dispute, Dispute.id, [dc["dispute_id"]], received_at=LONG_AGO)  # open: kept
    _age(app, Dispute, Dispute.id, [dd["dispute_id"]], received_at=LONG_AGO,
         decided_at=LONG_AGO)
    _age(app, DisputeDecision, DisputeDecision.dispute_id, [dd["dispute_id"]],
         decided_at=LONG_AGO)
    _age(app, RetentionTask, RetentionTask.id,
         [pf["retention_task_id"], pg["retention_task_id"]], updated_at=LONG_AGO,
         created_at=LONG_AGO)
    # F's task was closed with an outcome long ago (as the queue's complete would leave it)
    _age(app, RetentionTask, RetentionTask.id, [pf["retention_task_id"]], status="done",
         outcome="retained", completed_at=LONG_AGO)
    # D's task, if the control draw gave it one, was cancelled by the dispute: closed long ago
    d_tasks = _ids(app, RetentionTask.id, RetentionTask.prediction_id == pd["prediction_id"])
    _age(app, RetentionTask, RetentionTask.id, d_tasks, updated_at=LONG_AGO)

    before = {
        "predictions": _ids(app, Prediction.id),
        "tasks": _ids(app, RetentionTask.id),
        "disputes": _ids(app, Dispute.id),
        "messages": _ids(app, OutboxMessage.id),
    }
    expected_gone = {
        "predictions": {first["prediction_id"], pd["prediction_id"], pf["prediction_id"]},
        "tasks": {pf["retention_task_id"], *d_tasks},
        "disputes": {dd["dispute_id"]},
        "messages": {notice.id},
    }

    # -- a dry run counts exactly that and changes nothing -------------------------------
    with app.state.db.session() as s:
        head = audit.verify(s).head_seq
        dry = purge(s, settings, dry_run=True)
    assert dry.deleted == {"tasks": 1 + len(d_tasks), "disputes": 1, "notices": 1,
                           "link_messages": 0, "predictions": 3}
    assert dry.audit_seq is None
    assert before["predictions"] == _ids(app, Prediction.id)
    with app.state.db.session() as s:
        assert audit.verify(s).head_seq == head

    # -- the purge --------------------------------------------------------------------
    with app.state.db.session() as s:
        report = purge(s, settings)
    assert report.deleted == dry.deleted and report.with_disputes == {"decisions": 1}
    after = {
        "predictions": _ids(app, Prediction.id),
        "tasks": _ids(app, RetentionTask.id),
        "disputes": _ids(app, Dispute.id),
        "messages": _ids(app, OutboxMessage.id),
    }
    for kind in before:
        assert before[kind] - after[kind] == expected_gone[kind], kind
    assert pending <= after["messages"]
    # what is still needed stays: latest, under an open dispute, kept decided dispute,
    # open task's source
    for kept in (latest_a["prediction_id"], b["prediction_id"], pc["prediction_id"],
                 pe["prediction_id"], pg["prediction_id"]):
        assert kept in after["predictions"]
    assert {dc["dispute_id"], de["dispute_id"]} <= after["disputes"]
    assert pg["retention_task_id"] in after["tasks"]
    assert _ids(app, DisputeDecision.dispute_id) == {de["dispute_id"]}
    assert not _ids(app, ReviewJudgement.dispute_id, ReviewJudgement.dispute_id
                    == dd["dispute_id"])
    # the customers' pages still work
    assert api.client.get("/v1/me/prediction", headers=me_c).status_code == 200
    assert api.client.get("/v1/me/prediction", headers=me_e).status_code == 200

    # -- audited, and the chain verifies ---------------------------------------------------
    with app.state.db.session() as s:
        v = audit.verify(s)
        assert v.ok, v
        row = s.get(AuditEvent, report.audit_seq)
        assert row.action == "retention.purged" and row.customer_ref is None
        objects = json.loads(row.objects)
    assert {k: objects[k] for k in report.deleted} == report.deleted
    assert objects["decisions"] == 1
    assert objects["cutoff_predictions"] == report.cutoffs["predictions"]

    # -- a second purge finds nothing more ---------------------------------------------------
    with app.state.db.session() as s:
        again = purge(s, settings)
        assert audit.verify(s).ok
    assert set(again.deleted.values()) == {0}


def test_the_schedule_is_validated():
    import pytest
    from pydantic import ValidationError

    from serving.config import Settings

    with pytest.raises(ValidationError, match="retention_disputes_days"):
        Settings(retention_disputes_days=7)  # shorter than the one-month deadline
    with pytest.raises(ValidationError, match="retention_outbox_days"):
        Settings(retention_outbox_days=0)


def test_the_cli_purges_and_reports(db, database_url, capsys, monkeypatch):
    """`python -m serving.cli purge [--dry-run]` on the configured database: the report
    as JSON; the real run audited, the dry run not."""
    from serving.cli import main as cli

    monkeypatch.setenv("CHURN_DATABASE_URL", database_url)
    assert cli(["purge", "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True and dry["audit_seq"] is None
    assert set(dry["deleted"]) == {"tasks", "disputes", "notices", "link_messages",
                                   "predictions"}
    assert cli(["purge"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["audit_seq"] is not None
    with db.session() as s:
        assert audit.verify(s).ok
        row = s.get(AuditEvent, done["audit_seq"])
        assert row.action == "retention.purged" and row.actor == "retention-purge"
