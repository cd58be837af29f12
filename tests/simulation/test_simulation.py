"""`make simulate` in small (issue 17): the whole loop through the real service, and what
it must show. The contact-effect interval covers the world's true average effect; the
injected drift is flagged in the month it starts and not before; realised AUC is close to
the out-of-fold AUC while nothing drifts; churn events, tasks and arms went through the
service; what a team would see is printed and plotted."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from simulation.world import SENSITIVE
from tests.simulation.support import CUSTOMERS, DRIFT_MONTH, SAME_WORKER, small_simulation

pytestmark = [pytest.mark.slow, SAME_WORKER]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return small_simulation(tmp_path_factory)


def test_the_contact_effect_interval_covers_the_worlds_true_effect(sim) -> None:  # noqa: ANN001
    result, _, _ = sim
    overall = result.effect[0]
    assert overall["segment"] == "all"
    assert overall["n_contact"] > 150 and overall["n_control"] > 150
    assert math.isfinite(result.true_effect) and result.true_effect < 0
    assert overall["lower"] <= result.true_effect <= overall["upper"], (overall,
                                                                         result.true_effect)
    # by the world's segments: the interval of each covers that segment's truth
    for row in result.effect_by_segment:
        if row["segment"] in result.true_effect_by_segment and row["n_control"] >= 30:
            truth = result.true_effect_by_segment[row["segment"]]
            assert row["lower"] <= truth <= row["upper"], (row, truth)


def test_the_injected_drift_is_flagged_in_its_month_and_not_before(sim) -> None:  # noqa: ANN001
    result, lines, _ = sim
    for m in result.months:
        if m.month < DRIFT_MONTH:
            assert m.drift_flagged == [], (m.month, m.drift_psi)
        else:
            assert "SupportCalls" in m.drift_flagged, (m.month, m.drift_psi)
    assert any(line.startswith("  ALERT drift: SupportCalls") for line in lines)


def test_realised_auc_is_close_to_the_out_of_fold_auc_while_nothing_drifts(sim) -> None:  # noqa: ANN001
    result, _, _ = sim
    before = [q for q in result.quality if q["month"] < result.months[DRIFT_MONTH - 1].period]
    assert len(before) == DRIFT_MONTH - 1
    for q in before:
        # evaluated on the control group and the no-task rows, never on contacted ones
        assert q["evaluated"] < q["rows"]
        assert abs(q["auc"] - result.oof_roc_auc) < 0.06, (q, result.oof_roc_auc)
        assert q["auc_low"] <= q["auc"] <= q["auc_high"]
        assert q["ece"] < 0.1


def test_the_loop_went_through_the_service(sim) -> None:  # noqa: ANN001
    result, _, work = sim
    for m in result.months:
        assert m.scored == CUSTOMERS
        # half of those a task would be opened for are held out (binomial bound)
        drawn = m.contact_arm + m.control_arm
        assert abs(m.control_arm - drawn / 2) < 3 * math.sqrt(drawn / 4) + 1
        assert m.tasks_opened <= m.contact_arm and m.reached <= m.tasks_opened
        assert m.left > 0
    summary = json.loads((work / "summary.json").read_text())
    assert summary["months"][0]["period"] == result.months[0].period
    assert (work / "simulation.png").stat().st_size > 10_000
    table = pd.read_parquet(work / "uplift_table.parquet")
    assert set(table["arm"]) == {"contact", "control"}
    assert set(table["label"].unique()) <= {0.0, 1.0}
    assert not set(SENSITIVE) & set(table.columns)  # never features
    attributes = pd.read_parquet(work / "audit_attributes.parquet")
    assert set(SENSITIVE) <= set(attributes.columns)
    assert result.fairness and all(f["groups"] for f in result.fairness)


def test_risk_and_uplift_targeting_are_compared_by_the_worlds_truth(sim) -> None:  # noqa: ANN001
    """The next month's base scored under both rules through the batch, each queue read in
    its default order: uplift targeting calls a subset of the risk queue (the same draw,
    minus the calls not worth their cost), and no ranking of the risk queue's customers
    keeps more than the best one by the world's truth."""
    result, lines, work = sim
    assert result.uplift is not None
    t = result.targeting
    assert t is not None and t["customers"] == CUSTOMERS
    risk, uplift = t["risk"], t["uplift"]
    assert uplift["calls"] > 0 and t["not_worth_a_call"] > 0
    assert risk["calls"] == uplift["calls"] + t["not_worth_a_call"]
    assert t["same_calls"] == min(risk["calls"], uplift["calls"])
    assert uplift["pushed_away_called"] <= risk["pushed_away_called"]
    for r in (risk, uplift):
        assert math.isfinite(r["per_100_calls"])
        # both rounded to 2 decimals: `retained`'s rounding grows by 100 / calls
        assert r["per_100_calls"] == pytest.approx(100 * r["retained"] / r["calls"],
                                                   abs=0.005 + 0.5 / r["calls"] + 1e-9)
        assert r["per_100_top_calls"] <= t["best_per_100_top_calls"] + 1e-9
    assert any(line.startswith("queue ranking on the next month's base") for line in lines)
    summary = json.loads((work / "summary.json").read_text())
    assert summary["targeting"]["uplift"]["calls"] == uplift["calls"]
