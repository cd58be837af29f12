"""The contact effect (issue 17): intention to treat, Newcombe's interval, one unit per
customer and campaign period, breakdowns; the report command and its MLflow run."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from serving.loop.effect import contact_effect, newcombe, wilson


def test_wilson_and_newcombe_match_the_published_values():
    # Newcombe (1998), Statistics in Medicine 17: 873-890, table II: 56/70 against 48/80,
    # hybrid score interval (method 10) +0.0524 to +0.3339; Wilson for 81/263 from
    # Newcombe's table I of the single-proportion paper: 0.2553 to 0.3662
    d, lo, hi = newcombe(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    lo1, hi1 = wilson(81, 263)
    assert (round(lo1, 4), round(hi1, 4)) == (0.2553, 0.3662)
    # the interval stays in [-1, 1] at the extremes, and an empty arm gives no figure
    assert -1 <= newcombe(0, 10, 10, 10)[1] and newcombe(10, 10, 0, 10)[2] <= 1
    assert all(math.isnan(x) for x in newcombe(1, 0, 1, 5))


def _frame(rng, n, p_contact, p_control, fraction=0.2, start=datetime(2026, 1, 5, tzinfo=UTC),
           months=1):
    rows = []
    for k in range(n):
        arm = "control" if rng.random() < fraction else "contact"
        p = p_control if arm == "control" else p_contact
        for m in range(months):
            rows.append({
                "prediction_id": f"p{k}-{m}", "customer_ref": f"c{k}",
                "scored_at": pd.Timestamp(start + timedelta(days=31 * m)),
                "period": (start + timedelta(days=31 * m)).strftime("%Y-%m"), "arm": arm,
                "label": float(rng.random() < p), "risk_band": "high",
                "task_outcome": None if arm == "control" else
                rng.choice(["retained", "no_contact"]), "features": {"Contract": "x"}})
    return pd.DataFrame(rows)


def test_the_interval_covers_the_true_effect_and_counts_each_customer_once():
    rng = np.random.default_rng(3)
    df = _frame(rng, 4000, 0.20, 0.30)  # contact lowers churn by 10 points
    # a re-score in the same period adds no unit: the first receipt stands for the customer
    repeat = df.copy()
    repeat["prediction_id"] = repeat["prediction_id"] + "-again"
    repeat["scored_at"] = repeat["scored_at"] + pd.Timedelta(days=2)
    repeat["label"] = 1.0  # (a later receipt's label is not the unit's)
    [row] = contact_effect(pd.concat([df, repeat]))
    assert row.n_contact + row.n_control == 4000
    assert row.lower < -0.10 < row.upper and row.upper < 0  # covers it, and excludes 0
    assert row.conclusive and row.randomised
    # unlabelled receipts and receipts without an arm count nowhere
    extra = df.iloc[:50].assign(prediction_id=lambda d: d["prediction_id"] + "x",
                                customer_ref=lambda d: d["customer_ref"] + "x",
                                label=np.nan)
    none = df.iloc[:50].assign(prediction_id=lambda d: d["prediction_id"] + "y",
                               customer_ref=lambda d: d["customer_ref"] + "y", arm=None)
    assert contact_effect(pd.concat([df, extra, none]))[0] == row


def test_breakdowns_by_period_segment_feature_and_agent_outcome():
    rng = np.random.default_rng(4)
    df = _frame(rng, 600, 0.2, 0.3, months=2)
    periods = contact_effect(df, by="period")
    assert [r.segment for r in periods] == ["2026-01", "2026-02"]
    assert all(r.n_contact + r.n_control == 600 for r in periods)  # a new draw per period
    assert [r.segment for r in contact_effect(df, by="risk_band")] == ["high"]
    assert [r.segment for r in contact_effect(df, by="Contract")] == ["x"]
    outcome = contact_effect(df, by="task_outcome")
    assert {r.segment for r in outcome} == {"retained", "no_contact"}
    assert not any(r.randomised for r in outcome)  # after assignment: not randomised
    assert all(r.n_control == periods[0].n_control + periods[1].n_control for r in outcome)
    assert contact_effect(df.iloc[0:0]) == []


def test_the_report_command_prints_the_table_and_logs_an_mlflow_run(
        api, app, by_risk, host, settings, monkeypatch, tmp_path, capsys):
    import mlflow
    import sqlalchemy as sa

    from serving import cli
    from serving.storage.tables import Prediction

    t = host.current().thresholds
    high = [c for c in by_risk if c["expected_score"] >= t.high][:30]
    scored = api.score(high).json()
    then = datetime.now(UTC) - timedelta(days=100)
    with app.state.db.session() as s:
        s.execute(sa.update(Prediction).values(created_at=then))
        s.commit()
    left = [{"customer_id": c["customer_id"], "left_on": (then + timedelta(days=10)).date()
             .isoformat()} for c in high[::3]]
    assert api.client.post("/v1/churn-events", json={"events": left},
                           headers=api.headers("integration")).json()["recorded"] == len(left)
    monkeypatch.setenv("CHURN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHURN_CONTROL_FRACTION", "0.5")
    monkeypatch.setenv("CHURN_TRACKING_URI", f"sqlite:///{tmp_path}/effect.db")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("CHURN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    assert cli.main(["contact-effect", "--mlflow"]) == 0
    out = capsys.readouterr().out
    assert "intention to treat" in out and "Newcombe" in out
    assert f"{len(scored):>9}" not in out  # (split between two arms, not all in one)
    line = next(x for x in out.splitlines() if x.startswith("all "))
    n_contact, n_control = int(line.split()[2]), int(line.split()[4])
    assert n_contact + n_control == len(scored) and n_contact and n_control
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/effect.db")
    runs = mlflow.search_runs(experiment_names=["churn-contact-effect"])
    assert len(runs) == 1
    # its artifacts where training keeps them, not in ./mlruns of the folder it ran in
    assert runs.iloc[0]["artifact_uri"].startswith((tmp_path / "artifacts").as_uri())
    assert runs.iloc[0]["metrics.all.n_control"] == n_control
    assert "metrics.all.lower" in runs.columns
    # with no control group the report says so
    monkeypatch.setenv("CHURN_CONTROL_FRACTION", "0")
    assert cli.main(["contact-effect"]) == 0
    assert "CHURN_CONTROL_FRACTION is 0" in capsys.readouterr().out
