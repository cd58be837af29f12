"""The control group (issue 17): drawn by a keyed hash of the pseudonym and the campaign
period, stable under re-scoring, recorded in receipts, hidden from agents, and of the
share the setting asks for."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from models import pseudonymise
from serving.batch import score_file
from serving.config import Settings
from serving.loop.control import (
    CAMPAIGN,
    HELD_OUT,
    ControlPlan,
    arm_key,
    assign,
    assign_arm,
    campaign_period,
    carried_over,
    draw,
    period_start,
)
from serving.storage import Database
from serving.storage.receipts import PredictionRow, TaskRow
from serving.storage.tables import Prediction, RetentionTask
from tests.serving.loop.conftest import synthetic_base

SCHEMA = "training/datasets/synthetic.yaml"
KEY = arm_key("a test key")


# -- the draw, pure ------------------------------------------------------------------------
def test_campaign_periods():
    at = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    assert campaign_period(at) == "2026-11"
    assert campaign_period(at, "quarter") == "2026-Q4"
    assert campaign_period(datetime(2026, 1, 1, tzinfo=UTC), "quarter") == "2026-Q1"
    assert campaign_period(at, "year") == "2026"
    with pytest.raises(ValueError, match="campaign period"):
        campaign_period(at, "week")


def test_the_draw_is_stable_within_a_period_and_new_in_the_next():
    refs = [pseudonymise(f"C{i:05d}", "k") for i in range(2000)]
    first = [assign_arm(r, "2026-11", 0.3, KEY) for r in refs]
    assert first == [assign_arm(r, "2026-11", 0.3, KEY) for r in refs]  # never re-drawn
    december = [assign_arm(r, "2026-12", 0.3, KEY) for r in refs]
    changed = sum(a != b for a, b in zip(first, december, strict=True))
    # independent draws: P(arms differ) = 2 * 0.3 * 0.7 = 0.42
    assert abs(changed / len(refs) - 0.42) < 4 * math.sqrt(0.42 * 0.58 / len(refs))
    # another key (another deployment) draws other customers
    other = [assign_arm(r, "2026-11", 0.3, arm_key("another key")) for r in refs]
    assert other != first
    # the key is not the pseudonym key itself
    assert arm_key("k") != b"k" and len(arm_key("k")) == 32


def test_fraction_zero_holds_out_nobody_and_half_is_the_limit():
    refs = [pseudonymise(f"C{i}", "k") for i in range(500)]
    assert {assign_arm(r, "2026-11", 0.0, KEY) for r in refs} == {"contact"}
    with pytest.raises(ValueError, match=r"\[0, 0.5\]"):
        assign_arm(refs[0], "2026-11", 0.6, KEY)
    assert all(0.0 <= draw(r, "2026-11", KEY) < 1.0 for r in refs)


def test_settings_default_and_bounds():
    assert Settings(control_fraction=0.10).control_fraction == 0.10
    assert Settings.model_fields["control_fraction"].default == 0.10
    assert Settings.model_fields["label_horizon_days"].default == 90
    assert Settings.model_fields["targeting"].default == "risk"
    assert Settings(control_fraction=0).control_fraction == 0
    for bad in (-0.1, 0.51, 1.0):
        with pytest.raises(ValidationError, match="control_fraction"):
            Settings(control_fraction=bad)
    with pytest.raises(ValidationError, match="campaign_period"):
        Settings(campaign_period="fortnight")


def test_period_starts():
    at = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    assert period_start(at) == datetime(2026, 11, 1, tzinfo=UTC)
    assert period_start(at, "quarter") == datetime(2026, 10, 1, tzinfo=UTC)
    assert period_start(datetime(2026, 3, 31, tzinfo=UTC), "quarter") == datetime(
        2026, 1, 1, tzinfo=UTC)
    assert period_start(at, "year") == datetime(2026, 1, 1, tzinfo=UTC)
    assert ControlPlan(0.1, KEY, "quarter").period_start(at) == datetime(2026, 10, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="campaign period"):
        period_start(at, "week")


# -- who is drawn: not a customer carrying a task from an earlier period, pure ---------------
WHEN = datetime(2026, 11, 10, 9, tzinfo=UTC)


def _receipt(ref: str, action: str = "human_contact") -> PredictionRow:
    return PredictionRow(f"p-{ref}", ref, "churn", "1", 0.9, 2.0, -1.0, "high", "{}", b"",
                         action, "High risk", "api", "t", False, "t", "c")


def test_a_customer_with_an_open_task_from_an_earlier_period_is_not_drawn():
    plan = ControlPlan(fraction=0.5, key=KEY)
    refs = [f"cu{i:03d}" for i in range(200)]
    rows = [_receipt(r) for r in refs]
    tasks = [TaskRow(f"t-{r}", r, f"p-{r}", 0.9, "High risk", "t") for r in refs]
    plain, plain_tasks = assign(plan, rows, tasks, WHEN)
    # customers the draw puts in either arm carry a task, so the rule cannot lean on one
    carried = frozenset(refs[::3])
    out, left = assign(plan, rows, tasks, WHEN, carried)
    arms = {r.customer_ref: r.arm for r in plain}
    assert {arms[r] for r in carried} == {"contact", "control"}
    by = {r.customer_ref: r for r in out}
    for ref in refs:
        if ref in carried:
            # in neither arm: its route and its task kept, whatever the draw would say
            assert by[ref].arm is None and by[ref].targeting == "risk"
            assert (by[ref].route_action, by[ref].route_reason) == ("human_contact",
                                                                    "High risk")
        else:  # everyone else drawn exactly as without the rule
            assert by[ref] == next(r for r in plain if r.customer_ref == ref)
    assert {t.customer_ref for t in left} == ({t.customer_ref for t in plain_tasks} | carried)
    # a receipt that would open no task has no arm either way
    [low], _ = assign(plan, [_receipt("cu000", "none")], (), WHEN, carried)
    assert low.arm is None and low.route_action == "none"


def test_carried_over_means_a_task_created_before_the_period_of_the_receipt():
    plan = ControlPlan(fraction=0.1, key=KEY)  # monthly
    since = {"last-month": datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
             "this-month": datetime(2026, 11, 1, tzinfo=UTC),
             "long-ago": datetime(2025, 2, 3, tzinfo=UTC)}
    refs = ["last-month", "this-month", "long-ago", "no-task"]
    assert carried_over(plan, refs, since, WHEN) == {"last-month", "long-ago"}
    assert carried_over(plan, ["this-month", "no-task"], since, WHEN) == frozenset()
    # quarterly: October is the current period in November
    quarterly = ControlPlan(fraction=0.1, key=KEY, period_length="quarter")
    assert carried_over(quarterly, refs, since, WHEN) == {"long-ago"}
    # a time read back naive from SQLite is UTC
    assert carried_over(plan, ["x"], {"x": datetime(2026, 10, 5)}, WHEN) == {"x"}
    assert carried_over(None, refs, since, WHEN) == frozenset()


# -- the batch: share, receipts, no task for the held out ------------------------------------
def test_batch_share_matches_the_setting_within_sampling_error(settings, host, tmp_path):
    fraction = 0.2
    s = settings.model_copy(update={"control_fraction": fraction})
    path, frame = synthetic_base(tmp_path, 6000, seed=21)
    db = Database(s.database_url)
    report = score_file(s, path, SCHEMA, db=db, host=host, chunk_rows=2000)
    with db.session() as session:
        rows = session.execute(sa.select(Prediction.id, Prediction.arm, Prediction.route_action,
                                         Prediction.route_reason, Prediction.targeting,
                                         Prediction.score)).all()
        tasks = set(session.scalars(sa.select(RetentionTask.prediction_id)))
    db.dispose()
    assert len(rows) == len(frame)
    drawn = [r for r in rows if r.arm is not None]
    control = [r for r in drawn if r.arm == "control"]
    n = len(drawn)
    assert n > 500
    # a binomial bound: 4 standard deviations (a false alarm about once in 16,000 runs)
    assert abs(len(control) / n - fraction) <= 4 * math.sqrt(fraction * (1 - fraction) / n)
    # every receipt records the rule; only those that would open a task have an arm
    assert {r.targeting for r in rows} == {"risk"}
    thresholds = host.current().thresholds
    assert all(r.score >= thresholds.high - thresholds.review_margin - 1e-12 for r in drawn)
    # contact: a task; control: none, routed nowhere with the neutral reason
    assert all(r.id in tasks and r.route_action == "human_contact"
               for r in drawn if r.arm == "contact")
    assert all(r.id not in tasks and r.route_action == "none"
               and r.route_reason == HELD_OUT.reason for r in control)
    assert report.human_contact == n - len(control)
    assert not any("control" in r.route_reason.lower() for r in rows)


def test_rescoring_in_the_same_period_never_redraws(settings, host, tmp_path):
    path, _ = synthetic_base(tmp_path, 1500, seed=8)
    db = Database(settings.database_url)
    score_file(settings, path, SCHEMA, db=db, host=host)
    score_file(settings, path, SCHEMA, db=db, host=host)
    with db.session() as session:
        arms = session.execute(sa.select(Prediction.customer_ref, Prediction.arm)
                               .where(Prediction.arm.is_not(None))).all()
        open_control = session.scalar(
            sa.select(sa.func.count()).select_from(RetentionTask)
            .join(Prediction, Prediction.id == RetentionTask.prediction_id)
            .where(Prediction.arm == "control"))
    db.dispose()
    by_customer: dict[str, set[str]] = {}
    for ref, arm in arms:
        by_customer.setdefault(ref, set()).add(arm)
    assert len(arms) == 2 * len(by_customer)  # each customer drawn in both runs
    assert all(len(a) == 1 for a in by_customer.values())  # and the same arm both times
    assert {a for s in by_customer.values() for a in s} == {"contact", "control"}
    assert open_control == 0
    # and it is the arm the pure function gives for this month
    plan = ControlPlan.from_settings(settings)
    now = datetime.now(UTC)
    assert all(plan.arm(ref, now) == next(iter(a)) for ref, a in by_customer.items())


# -- online: recorded, stable, hidden from agents ---------------------------------------------
def _high(by_risk, host, n):
    t = host.current().thresholds
    return [c for c in by_risk if c["expected_score"] >= t.high][:n]


def test_online_scoring_records_the_arm_and_agents_never_see_it(api, app, by_risk, host,
                                                                  settings):
    high = _high(by_risk, host, 16)
    first = api.score(high).json()
    again = api.score(high).json()
    db = app.state.db if hasattr(app.state, "db") else Database(settings.database_url)
    with db.session() as session:
        arm = dict(session.execute(sa.select(Prediction.id, Prediction.arm)).all())
    arms = [arm[p["prediction_id"]] for p in first]
    assert set(arms) == {"contact", "control"}  # with half held out, 16 draw both
    assert arms == [arm[p["prediction_id"]] for p in again]  # re-scoring: the same arm
    for p, newer, a in zip(first, again, arms, strict=True):
        # an agent reads the same route for both arms, the campaign's, and no task beside
        # either (tasks are in the queue): never the draw
        assert p["route"] == {"action": CAMPAIGN.action, "reason": CAMPAIGN.reason}
        assert p["retention_task_id"] is None
        # the receipt as stored, and as an admin reads it, says what was done (the open
        # task follows the customer's newer receipt)
        mine = api.get(f"/v1/predictions/{newer['prediction_id']}", role="admin").json()
        if a == "control":
            assert mine["route"] == {"action": "none", "reason": HELD_OUT.reason}
            assert mine["retention_task_id"] is None
        else:
            assert mine["route"]["action"] == "human_contact" and mine["retention_task_id"]
    control_refs = {p["customer_ref"] for p, a in zip(first, arms, strict=True)
                    if a == "control"}
    control_ids = {c["customer_id"] for c, a in zip(high, arms, strict=True) if a == "control"}
    # what an agent reads: the answers, the risk list, the queue, a receipt
    seen = [json.dumps(first), json.dumps(again)]
    listed = api.get("/v1/risk-list", limit=100)
    seen.append(listed.text)
    # held-out customers are not on an agent's risk list; the contacted ones are
    refs = {i["customer_ref"] for i in listed.json()["items"]}
    assert not control_refs & refs
    assert {p["customer_ref"] for p, a in zip(first, arms, strict=True) if a == "contact"} <= refs
    tasks = api.get("/v1/retention-tasks", limit=100)
    seen.append(tasks.text)
    assert not control_refs & {t["customer_ref"] for t in tasks.json()["items"]}
    for p in first:
        seen.append(api.get(f"/v1/predictions/{p['prediction_id']}").text)
    for text in seen:
        low = text.lower()
        assert '"arm"' not in low and "control" not in low and "held out" not in low
    assert control_ids  # (the customers exist; their receipts name no arm)


def _disputed_held_out(api, app, by_risk, host) -> tuple[dict, str]:  # noqa: ANN001
    """A held-out high-risk customer's answer, and the dispute opened on it (contesting
    their tenure, which the reviewer corrects: `_rectify`)."""
    from tests.serving.conftest import dispute_body, other_value

    high = _high(by_risk, host, 16)
    scored = api.score(high).json()
    with app.state.db.session() as session:
        arm = dict(session.execute(sa.select(Prediction.id, Prediction.arm)).all())
    n = next(i for i, p in enumerate(scored) if arm[p["prediction_id"]] == "control")
    p, cid = scored[n], high[n]["customer_id"]
    used = next(c["value"] for c in p["contributions"] if c["feature"] == "tenure")
    body = dispute_body(p, host) | {"contested_features": [
        {"feature": "tenure",
         "claimed_value": other_value(host.current().spec.feature("tenure"), used)}]}
    d = api.post(f"/v1/customers/{cid}/assisted/disputes", json=body)
    assert d.status_code == 201, d.text
    return p, d.json()["dispute_id"]


def _rectify(api, dispute_id: str) -> dict:  # noqa: ANN001
    """A reviewer's rectification (a new customer after all): the new receipt."""
    r = api.post(f"/v1/disputes/{dispute_id}/decision", role="reviewer",
                 json={"decision": "rectified", "rationale": "new customer after all",
                       "corrected_features": {"tenure": 1.0}})
    assert r.status_code == 201, r.text
    return r.json()["new_prediction"]


def test_a_rectified_rescore_keeps_a_held_out_customer_held_out(api, app, by_risk, host):
    p, dispute_id = _disputed_held_out(api, app, by_risk, host)
    new = _rectify(api, dispute_id)
    assert new["score"] >= host.current().thresholds.high  # it would open a task
    assert new["route"] == {"action": "none", "reason": HELD_OUT.reason}
    assert new["retention_task_id"] is None
    with app.state.db.session() as session:
        assert session.get(Prediction, new["prediction_id"]).arm == "control"
        assert session.scalar(sa.select(sa.func.count()).select_from(RetentionTask).where(
            RetentionTask.customer_ref == p["customer_ref"],
            RetentionTask.status.in_(("open", "claimed")))) == 0


def _earlier_task(session, ref: str, prediction_id: str, at: datetime) -> str:  # noqa: ANN001
    """An open task of `ref` created at `at` (an earlier campaign period): the customer's
    own if they have one, moved back, else one opened then for `prediction_id`."""
    task = session.scalar(sa.select(RetentionTask).where(
        RetentionTask.customer_ref == ref, RetentionTask.status.in_(("open", "claimed"))))
    if task is None:
        task = RetentionTask(customer_ref=ref, prediction_id=prediction_id, status="open",
                             score=0.9, reason="High risk", updated_at=at)
        session.add(task)
    task.created_at = at
    session.flush()
    return task.id


def _open_tasks(session) -> dict[str, tuple[str, str]]:  # noqa: ANN001
    return {ref: (tid, pid) for ref, tid, pid in session.execute(
        sa.select(RetentionTask.customer_ref, RetentionTask.id, RetentionTask.prediction_id)
        .where(RetentionTask.status.in_(("open", "claimed"))))}


def test_online_a_customer_with_an_open_task_from_an_earlier_period_is_not_drawn(
        api, app, by_risk, host):
    """The defect: a customer drawn `contact` last period whose task is still open, drawn
    `control` this period, kept the task, and an agent called a held-out customer. Now such
    a customer is not drawn (no arm, route and task kept, the task on the newer receipt),
    whichever arm the draw would give; one whose task opened this period is drawn as
    before. Online, read in the write's transaction (SQLite and PostgreSQL)."""
    high = _high(by_risk, host, 16)
    first = api.score(high).json()
    earlier = datetime.now(UTC) - timedelta(days=40)  # always in an earlier month
    with app.state.db.session() as session:
        arm = dict(session.execute(sa.select(Prediction.id, Prediction.arm)).all())
        arms = {p["customer_ref"]: arm[p["prediction_id"]] for p in first}
        control = [p for p in first if arms[p["customer_ref"]] == "control"]
        contact = [p for p in first if arms[p["customer_ref"]] == "contact"]
        assert len(control) >= 2 and len(contact) >= 2
        # every held-out customer, and one contacted, carry a task from last month
        carried = {p["customer_ref"]: _earlier_task(session, p["customer_ref"],
                                                    p["prediction_id"], earlier)
                   for p in [*control, contact[0]]}
        session.commit()
        before = _open_tasks(session)
    again = api.score(high).json()
    with app.state.db.session() as session:
        rows = {r.id: r for r in session.scalars(sa.select(Prediction))}
        after = _open_tasks(session)
    for p in again:
        ref, row = p["customer_ref"], rows[p["prediction_id"]]
        if ref in carried:
            # not in this period's experiment: its route kept, its own task on the newer
            # receipt (not cancelled, not a second one)
            assert (row.arm, row.route_action) == (None, "human_contact")
            assert after[ref] == (carried[ref], row.id)
        else:  # a task opened this period: drawn as before, the same arm
            assert row.arm == arms[ref] == "contact"
            assert after[ref] == (before[ref][0], row.id)
    # nobody drawn into the control group has an open task
    assert not {rows[p["prediction_id"]].customer_ref for p in again
                if rows[p["prediction_id"]].arm == "control"} & after.keys()


def test_a_rectified_rescore_does_not_draw_a_customer_carrying_an_earlier_task(
        api, app, by_risk, host):
    """A reviewer's rectification applies the same rule, read in the review's transaction.
    (Opening a dispute cancels the customer's tasks, so the earlier-period task is put
    back by hand here: the state the rule must handle whatever led to it.)"""
    p, dispute_id = _disputed_held_out(api, app, by_risk, host)
    with app.state.db.session() as session:
        task_id = _earlier_task(session, p["customer_ref"], p["prediction_id"],
                                datetime.now(UTC) - timedelta(days=40))
        session.commit()
    new = _rectify(api, dispute_id)
    assert new["route"]["action"] == "human_contact"
    with app.state.db.session() as session:
        assert session.get(Prediction, new["prediction_id"]).arm is None
        assert _open_tasks(session)[p["customer_ref"]] == (task_id, new["prediction_id"])


def test_a_dask_workers_chunk_draws_the_same_arms(settings, host):
    """`prepare_chunk` is what each Dask worker runs (serving/distributed.py): it draws the
    arms itself, from the settings the driver sends, with the same key and period."""
    from serving.batch import prepare_chunk
    from training.synthetic import generate

    frame = generate(1500, seed=9)
    chunk = prepare_chunk(host.current(), frame, "customer_id", settings, "sqlite")
    drawn = [p for p in chunk.predictions if p.arm is not None]
    plan = ControlPlan.from_settings(settings)
    assert drawn and all(p.arm == plan.arm(p.customer_ref, chunk.scored_at) for p in drawn)
    held = {p.id for p in drawn if p.arm == "control"}
    assert held and len(held) < len(drawn)
    assert not held & {t.prediction_id for t in chunk.tasks}
    assert {t.prediction_id for t in chunk.tasks} == {p.id for p in drawn} - held


def test_a_batch_opens_no_new_task_for_a_carried_customer_whose_task_closed_meanwhile(
        settings, host, tmp_path):
    """The batch reads the open tasks once, at the start of the run. A customer it left
    out of the draw for last period's task follows that task; if an agent closed the task
    meanwhile, no new task opens on the receipt (in neither arm, it would be this period's
    task of a customer the next score may hold out)."""
    from serving.batch import BatchReport, ChunkWriter, prepare_chunk
    from serving.storage.receipts import Receipts

    path, frame = synthetic_base(tmp_path, 400, seed=12)
    db = Database(settings.database_url)
    score_file(settings, path, SCHEMA, db=db, host=host,
               as_of=datetime.now(UTC) - timedelta(days=40))
    with db.session() as session:
        since = Receipts(session).open_task_since()  # what a run reads at its start
        closed = sorted(since)[::2]
        session.execute(sa.update(RetentionTask).where(RetentionTask.customer_ref.in_(closed))
                        .values(status="done"))
        session.commit()
    served = host.current()
    chunk = prepare_chunk(served, frame, "customer_id", settings, db.dialect, open_since=since)
    assert chunk.carried == set(since) and len(closed) >= 2
    report = BatchReport(data="t", model_name=served.name, model_version=served.version)
    with ChunkWriter(db, report, 10_000, settings.task_due_days) as writer:
        writer.write(chunk)
    with db.session() as session:
        newest = {p.customer_ref: p for p in chunk.predictions}
        tasks = _open_tasks(session)
    db.dispose()
    for ref in since:
        assert (newest[ref].arm, newest[ref].route_action) == (None, "human_contact")
        if ref in closed:
            assert ref not in tasks  # no new task
        else:
            assert tasks[ref][1] == newest[ref].id  # the old task, on the newer receipt


def test_one_online_group_straddling_a_period_end_draws_as_two_groups_would(settings, host,
                                                                           by_risk, db):
    """Two requests for one customer, written in one group, the first just before a
    campaign period ends and the second just after: the second finds the first's task
    (made in the earlier period) as the next group would have, so the customer is not
    drawn then and no held-out customer keeps a task. The task is the first's (its
    creation and due date), on the newer receipt, as the upsert leaves an open task."""
    from serving.auth import Principal
    from serving.isotime import as_utc
    from serving.scoring.schemas import ScoreRequest
    from serving.scoring.service import prepare, store

    served, plan = host.current(), ControlPlan.from_settings(settings)
    end = datetime(2026, 12, 1, tzinfo=UTC)
    before, after = end - timedelta(milliseconds=2), end + timedelta(milliseconds=2)
    p1, p2 = campaign_period(before), campaign_period(after)
    # a high-risk customer drawn `contact` in the earlier period and `control` in the next
    features = _high(by_risk, host, 1)[0]["features"]
    customer = next(
        c for c in (f"STRADDLE{n:04d}" for n in range(2000))
        if assign_arm(pseudonymise(c, settings.pseudonym_secret), p1, plan.fraction,
                      plan.key) == "contact"
        and assign_arm(pseudonymise(c, settings.pseudonym_secret), p2, plan.fraction,
                       plan.key) == "control")
    principal = Principal(kind="staff", role="agent", actor="staff:test")
    jobs = []
    for at in (before, after):
        job = prepare(served, settings, [ScoreRequest(customer_id=customer,
                                                      features=features)], principal)
        assert job.routes[0].action == "human_contact"
        job.at = at
        jobs.append(job)
    with db.session() as session:
        first, second = store(session, jobs)
        session.commit()
    with db.session() as session:
        rows = {r.id: r for r in session.scalars(sa.select(Prediction))}
        tasks = list(session.scalars(sa.select(RetentionTask)))
    a, b = rows[jobs[0].pids[0]], rows[jobs[1].pids[0]]
    assert a.arm == "contact" and a.route_action == "human_contact"
    assert b.arm is None and b.route_action == "human_contact"  # not drawn: carried
    assert len(tasks) == 1
    task = tasks[0]
    assert (task.status, task.prediction_id) == ("open", b.id)
    assert as_utc(task.created_at) == before
    assert first.task_ids == second.task_ids == [task.id]
