"""Drift against the training reference stored with the model (issue 17): a base like the
training data is stable, a shifted feature is flagged on that feature, on SQLite and
PostgreSQL through the real batch path."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from models.encoding import Encoder
from models.reference import psi, reference_of
from serving.batch import score_file
from serving.loop import drift
from serving.specs import SpecCache
from tests.serving.conftest import SYNTHETIC_SCHEMA
from training import synthetic


def shifted(frame, factor: float = 3.0):  # noqa: ANN001, ANN201
    """Fibre customers call support `factor` times as often (a network incident)."""
    out = frame.copy()
    rng = np.random.default_rng(11)
    rate = synthetic.support_call_rate(out)
    fibre = (out["InternetService"] == "Fiber optic").to_numpy()
    out["SupportCalls"] = rng.poisson(np.where(fibre, rate * factor, rate))
    return out


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    ref = reference_of(rng.normal(size=20_000), "numeric")
    assert psi(ref, rng.normal(size=5_000)) < 0.02
    assert psi(ref, rng.normal(0.8, 1.0, size=5_000)) > 0.25
    cats = reference_of(np.array([0, 1, 2] * 1000, dtype=float), "categorical", 3)
    assert psi(cats, np.array([0, 1, 2] * 300, dtype=float)) < 1e-9
    # a category never seen in training weighs a lot (its share floored, not zero)
    assert psi(cats, np.zeros(900)) > 1.0
    # missing values are their own bin
    assert psi(ref, np.full(100, np.nan)) > 1.0
    assert math.isnan(psi(ref, np.array([])))


def test_the_spec_carries_a_reference_for_every_feature_and_the_score(host) -> None:  # noqa: ANN001
    spec = host.current().spec
    assert set(spec.feature_reference) == set(spec.feature_names)
    assert spec.score_reference is not None
    assert abs(sum(spec.score_reference.shares) + spec.score_reference.missing - 1) < 1e-3
    for ref in spec.feature_reference.values():
        assert abs(sum(ref.shares) + ref.missing - 1) < 1e-3


def test_a_base_like_training_is_stable_and_a_shift_is_flagged_on_its_feature(host) -> None:  # noqa: ANN001
    served = host.current()
    spec = served.spec
    if "SupportCalls" not in spec.feature_names:
        pytest.fail(f"the test model dropped SupportCalls: {spec.feature_names}")
    base = synthetic.generate(4000, seed=21)
    enc = Encoder(spec)
    X = enc.encode_frame(base)
    same = drift.drift_of(spec, X, served.model.explain(X).score, warn=0.1, alert=0.25)
    assert same.status == "ok", same.as_dict()
    moved = shifted(base)
    X2 = enc.encode_frame(moved)
    after = drift.drift_of(spec, X2, served.model.explain(X2).score, warn=0.1, alert=0.25)
    assert after.flagged("alert") and "SupportCalls" in after.flagged("alert"), after.as_dict()
    others = [c for c in after.columns if c.column not in ("SupportCalls", drift.SCORE)]
    assert all(c.status == "ok" for c in others), after.as_dict()


def test_batch_runs_are_compared_run_by_run(settings, db, host, tmp_path: Path) -> None:  # noqa: ANN001
    base = synthetic.generate(1500, seed=33)
    first, second = tmp_path / "m1.parquet", tmp_path / "m2.parquet"
    base.to_parquet(first, index=False)
    shifted(base).to_parquet(second, index=False)
    r1 = score_file(settings, first, SYNTHETIC_SCHEMA, db=db, host=host,
                    as_of=datetime(2026, 3, 1, 12, tzinfo=UTC))
    r2 = score_file(settings, second, SYNTHETIC_SCHEMA, db=db, host=host,
               as_of=datetime(2026, 4, 1, 12, tzinfo=UTC))
    with db.session() as session:
        runs = drift.batch_drift(session, SpecCache(), warn=0.1, alert=0.25)
        latest = drift.batch_drift(session, SpecCache(), warn=0.1, alert=0.25,
                                   since=datetime(2026, 4, 1, tzinfo=UTC))
    assert [r.run for r in runs] == ["2026-03-01", "2026-04-01"]
    # a shifted row outside the model's input domain is skipped by the batch, not scored
    assert [r.rows for r in runs] == [r1.scored, r2.scored]
    assert r1.scored == 1500 and r2.scored >= 1450
    assert runs[0].flagged("alert") == []
    assert "SupportCalls" in runs[1].flagged("alert")
    assert [r.run for r in latest] == ["2026-04-01"]


def test_metrics_export_the_latest_runs_drift(settings, db, host, client, tmp_path: Path) -> None:  # noqa: ANN001
    before = client.get("/metrics").text
    assert "churn_drift_alert{" not in before  # no batch run yet: nothing claimed
    path = tmp_path / "shifted.parquet"
    shifted(synthetic.generate(1500, seed=34)).to_parquet(path, index=False)
    score_file(settings, path, SYNTHETIC_SCHEMA, db=db, host=host)
    text = client.get("/metrics").text
    assert 'churn_drift_alert{column="SupportCalls"} 1.0' in text
    assert 'churn_drift_alert{column="tenure"} 0.0' in text
    assert 'churn_drift_psi{column="score"}' in text
