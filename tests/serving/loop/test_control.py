"""The control group (issue 17): drawn by a keyed hash of the pseudonym and the campaign
period, stable under re-scoring, recorded in receipts, hidden from agents, and of the
share the setting asks for."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

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
    assign_arm,
    campaign_period,
    draw,
)
from serving.storage import Database
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


def test_a_rectified_rescore_keeps_a_held_out_customer_held_out(api, app, by_risk, host):
    from tests.serving.conftest import dispute_body

    high = _high(by_risk, host, 16)
    scored = api.score(high).json()
    with app.state.db.session() as session:
        arm = dict(session.execute(sa.select(Prediction.id, Prediction.arm)).all())
    n = next(i for i, p in enumerate(scored) if arm[p["prediction_id"]] == "control")
    p, cid = scored[n], high[n]["customer_id"]
    d = api.post(f"/v1/customers/{cid}/assisted/disputes", json=dispute_body(p, host))
    assert d.status_code == 201, d.text
    r = api.post(f"/v1/disputes/{d.json()['dispute_id']}/decision", role="reviewer",
                 json={"decision": "rectified", "rationale": "new customer after all",
                       "corrected_features": {"tenure": 1.0}})
    assert r.status_code == 201, r.text
    new = r.json()["new_prediction"]
    assert new["score"] >= host.current().thresholds.high  # it would open a task
    assert new["route"] == {"action": "none", "reason": HELD_OUT.reason}
    assert new["retention_task_id"] is None
    with app.state.db.session() as session:
        assert session.get(Prediction, new["prediction_id"]).arm == "control"
        assert session.scalar(sa.select(sa.func.count()).select_from(RetentionTask).where(
            RetentionTask.customer_ref == p["customer_ref"],
            RetentionTask.status.in_(("open", "claimed")))) == 0


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
