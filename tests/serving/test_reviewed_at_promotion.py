"""Reviewed cases at promotion (issue 18): the service exports the disputes decided
rectified or overturned (the analytics world: opened by customers, decided by a reviewer),
and `promote` scores each with the challenger beside the champion, flags the judged
mistakes it repeats, prints it and logs it to the challenger's MLflow run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from serving.reviews.export import write_parquet
from tests.serving.test_analytics import OVERTURNED, RECTIFIED, world  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry(tmp_path_factory):  # noqa: ANN001, ANN201
    """A champion and a challenger (another seed) in a registry of their own: a copy of
    the run's small synthetic champion (seed 0, tests/artefacts.py), the challenger
    trained into it."""
    from tests.artefacts import SMALL_MODEL, champion_store
    from training.config import TrainSettings
    from training.pipeline import train

    tmp, champion = champion_store(tmp_path_factory, "promote")
    settings = TrainSettings(tracking_uri=champion.tracking_uri, artifact_root=tmp / "art",
                             reports_dir=tmp / "rep", model_name=champion.model_name,
                             seed=1, **SMALL_MODEL)
    train(settings, None, None)
    return settings


def test_promote_scores_the_reviewed_cases(world, app, registry, tmp_path):  # noqa: F811
    from mlflow import MlflowClient

    from training.registry import CHALLENGER, promote, version_by_alias

    out = tmp_path / "reviewed.parquet"
    with app.state.db.session() as s:
        n = write_parquet(s, out)
    assert n == OVERTURNED + RECTIFIED
    frame = pd.read_parquet(out)
    assert sorted(frame["decision"]) == ["overturned"] * OVERTURNED + ["rectified"] * RECTIFIED
    decided = {d["dispute_id"]: (c, body) for c, _, d, body in world}
    for case in frame.to_dict(orient="records"):
        customer, decision = decided[case["dispute_id"]]
        assert case["decision"] == decision and case["customer_ref"].startswith("cu_")
        values = json.loads(case["features_json"])
        assert set(values) == set(customer["features"])
        if decision == "overturned":  # the data as contested
            assert pd.isna(case["score_after"])  # no re-score
        else:  # the corrected data, and the served model's re-score
            assert values != customer["features"] and case["score_after"] > 0
    assert not frame["customer_ref"].isin([c["customer_id"] for c, *_ in world]).any()

    # a promotion refused by its gates still reports the reviewed cases
    strict = registry.model_copy(update={"gate_min_roc_auc": 0.999})
    result = promote(strict, reviewed=out)
    assert not result.promoted
    text = result.report()
    assert f"reviewed cases: {OVERTURNED + RECTIFIED} decided dispute(s)" in text
    rows = [line for line in text.splitlines()
            if line.strip().startswith(("overturned", "rectified"))]
    assert len(rows) == OVERTURNED + RECTIFIED
    # the flag follows the rule, case by case
    from training.reviewed import band, report

    challenger = version_by_alias(registry.model_name, CHALLENGER)
    from training.registry import _load

    model = _load(registry.model_name, str(challenger.version))
    rep = report(out, model)
    for r in rep.rows:
        assert band(r["challenger_score"], model) == r["challenger_band"]
        if r["decision"] == "overturned":
            assert r["repeats"] == (r["challenger_band"] == r["band_before"])
        else:
            assert r["repeats"] == (r["band_after"] != r["band_before"]
                                    and r["challenger_band"] == r["band_before"])
    assert rep.repeats == sum(r["repeats"] for r in rep.rows)
    # logged to the challenger's run
    client = MlflowClient(tracking_uri=registry.tracking_uri)
    run = client.get_run(challenger.run_id)
    assert run.data.metrics["reviewed_cases"] == OVERTURNED + RECTIFIED
    assert run.data.metrics["reviewed_repeats"] == rep.repeats
    files = [f.path for f in client.list_artifacts(challenger.run_id, "promotion")]
    assert "promotion/reviewed_cases.csv" in files


def test_no_reviewed_cases_says_so(app, client, registry, tmp_path):  # noqa: ARG001
    from training.registry import promote

    out = tmp_path / "none.parquet"
    with app.state.db.session() as s:
        assert write_parquet(s, out) == 0
    strict = registry.model_copy(update={"gate_min_roc_auc": 0.999})
    assert "reviewed cases: none" in promote(strict, reviewed=out).report()
