"""Realised quality and fairness over time (issue 17), on frames shaped like
`labelled_predictions`: contacted customers' labels are affected by the contact, so
quality is measured on the control group (weighted back to its band) and the rows no arm
was drawn for; unlabelled and withdrawn rows never count."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from serving.loop import monitoring


def population(n: int = 20_000, seed: int = 0, keep_share: float = 0.7,
               month: datetime = datetime(2026, 3, 1, 12, tzinfo=UTC)) -> pd.DataFrame:
    """Scores with labels drawn from them; the top 30 % would get a task: 20 % of those
    held out at random, the rest contacted, and contact keeps `keep_share` of the
    contacted who would have left (their label turns 0)."""
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 5, n)
    natural = (rng.random(n) < score).astype(float)
    high = score >= np.quantile(score, 0.7)
    arm = np.where(high, np.where(rng.random(n) < 0.2, "control", "contact"), None)
    label = natural.copy()
    kept = (arm == "contact") & (natural == 1) & (rng.random(n) < keep_share)
    label[kept] = 0.0
    return pd.DataFrame({
        "prediction_id": [f"p{i}" for i in range(n)], "customer_ref": [f"c{i}" for i in range(n)],
        "model_version": "3", "scored_at": pd.Timestamp(month), "score": score,
        "risk_band": np.where(high, "high", "low"), "arm": arm, "label": label,
        "withdrawn": False, "_natural": natural})


def test_weighted_auc_is_the_mann_whitney_statistic() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(2000) < 0.3
    s = np.round(rng.random(2000) + 0.4 * y, 2)  # ties on purpose
    w = rng.random(2000) * 2
    assert monitoring.weighted_auc(y, s, w) == pytest.approx(
        roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert monitoring.weighted_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert math.isnan(monitoring.weighted_auc(np.zeros(5), np.arange(5.0)))


def test_quality_leaves_contacted_labels_out_and_weights_the_control_group_back() -> None:
    df = population()
    truth = roc_auc_score(df["_natural"], df["score"])
    [q] = monitoring.realised_quality(df, n_boot=100)
    assert (q.model_version, q.month, q.rows) == ("3", "2026-03", len(df))
    assert q.evaluated == int((df["arm"] != "contact").sum())
    assert abs(q.auc - truth) < 0.01, (q.auc, truth)
    assert q.auc_low < truth < q.auc_high
    # the naive figure on every row is biased by the contact
    assert q.auc_all < truth - 0.03
    # calibration by decile on the unaffected rows: scores are probabilities here
    assert len(q.calibration) == 10
    assert q.ece < 0.03
    # without the control weights the high band is under-represented: another figure
    unaffected = df[df["arm"] != "contact"]
    assert abs(roc_auc_score(unaffected["label"], unaffected["score"]) - q.auc) > 0.005


def test_a_receipt_routed_to_an_agent_without_a_draw_counts_as_contacted() -> None:
    """A customer carrying an open task from an earlier period is not drawn (no arm) but
    keeps their task: their label may be touched by a call, so it is left out."""
    df = population(2000, seed=6)
    df["route_action"] = np.where(df["arm"] == "contact", "human_contact", "none")
    carried = df.index[df["arm"].isna()][:50]
    df.loc[carried, "route_action"] = "human_contact"
    w = monitoring.unaffected_weights(monitoring.normalise(df))
    assert (w[carried] == 0).all()
    others = df["arm"].isna().to_numpy() & ~df.index.isin(carried)
    assert (w[others] == 1).all()
    [q] = monitoring.realised_quality(df, n_boot=10)
    assert q.evaluated == int((df["arm"] != "contact").sum()) - len(carried)


def test_unlabelled_and_withdrawn_rows_do_not_count_and_months_are_apart() -> None:
    a = population(4000, seed=2)
    b = population(4000, seed=3, month=datetime(2026, 4, 1, 12, tzinfo=UTC))
    b.loc[:99, "label"] = np.nan  # horizon still running
    b.loc[100:199, "withdrawn"] = True  # overturned on review
    out = monitoring.realised_quality(pd.concat([a, b], ignore_index=True), n_boot=50)
    assert [q.month for q in out] == ["2026-03", "2026-04"]
    assert out[1].rows == 4000 - 200


def test_fairness_over_time_reports_each_groups_rates_with_intervals() -> None:
    df = population(6000, seed=4)
    rng = np.random.default_rng(5)
    group = np.where(rng.random(len(df)) < 0.5, "A", "B")
    # group B's leavers are routed less often: drop some of them from the high band
    lower = (group == "B") & (df["label"] == 1) & (rng.random(len(df)) < 0.4)
    df.loc[lower, "risk_band"] = "low"
    attributes = pd.DataFrame({"customer_ref": df["customer_ref"], "g": group,
                               "tiny": np.where(np.arange(len(df)) < 10, "x", "y")})
    [fair, tiny] = monitoring.fairness_over_time(df, attributes, ["g", "tiny"], min_group=30)
    assert (fair.month, fair.attribute) == ("2026-03", "g")
    a, b = fair.groups
    assert (a.group, b.group) == ("A", "B")
    assert a.tpr[0] > b.tpr[0] + 0.1
    for g in (a, b):
        for point, low, high in (g.tpr, g.fpr, g.selection):
            assert low <= point <= high
    assert fair.equalized_odds == pytest.approx(max(fair.tpr_gap, fair.fpr_gap))
    # a group under the minimum size is left out of the comparison
    assert [g.group for g in tiny.groups] == ["y"] and math.isnan(tiny.equalized_odds)


def test_wilson_interval() -> None:
    p, low, high = monitoring.wilson(0, 10)
    assert p == 0 and low == 0 and 0.2 < high < 0.35
    assert all(math.isnan(v) for v in monitoring.wilson(0, 0))
