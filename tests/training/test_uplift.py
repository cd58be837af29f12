"""The uplift model (issue 17, `make train-uplift`): on randomised data from the simulated
world, whose contact effect is known by segment, the T-learner's Qini on held-out customers
beats random targeting, it ranks the customers contact keeps above those it pushes away,
it is registered as churn-uplift and promoted only when its interval shows an effect."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from simulation.world import SENSITIVE, World, WorldConfig, segment_of
from tests.training.conftest import make_settings
from training.uplift import UpliftDataError, fit_uplift, qini_coefficient, train_uplift

FEATURES = ["tenure", "Contract", "InternetService", "OnlineSecurity", "TechSupport",
            "PaymentMethod", "PaperlessBilling", "MonthlyCharges", "SupportCalls"]


def randomised_table(n: int, seed: int, effect: bool = True) -> pd.DataFrame:
    """`n` customers of the simulated world, half assigned to contact at random, reached
    with the world's probability, their label drawn from the world's mechanism."""
    world = World(WorldConfig(customers=n, seed=seed, drift_period=None))
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "contact", "control")
    reached = (arm == "contact") & (rng.random(n) < world.config.reach)
    p = world.probabilities(reached if effect else None)
    frame = world.scoring_frame()
    table = frame[FEATURES].copy()
    assert not set(SENSITIVE) & set(table.columns)  # never features
    table["customer_ref"] = frame["customer_id"]
    table["arm"] = arm
    table["label"] = (rng.random(n) < p).astype(int)
    table["_segment"] = segment_of(frame)
    return table


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return randomised_table(12_000, seed=3)


def test_qini_beats_random_and_contact_keeps_are_ranked_above_push_aways(
        table: pd.DataFrame, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    model, metrics, curve = fit_uplift(table.drop(columns=["_segment"]), settings)
    assert "_segment" not in model.spec.feature_names
    # held-out customers: the whole Qini interval above random targeting (0)
    assert metrics["qini"] > 0 and metrics["qini_low"] > 0, metrics
    assert metrics["uplift_at_k_low"] > 0, metrics
    # a random ranking of the same rows scores about 0
    rng = np.random.default_rng(0)
    t = (table["arm"] == "contact").to_numpy()
    y = table["label"].to_numpy()
    random_qini = np.mean([qini_coefficient(rng.random(len(t)), t, y) for _ in range(20)])
    assert metrics["qini"] > random_qini + 0.005
    # the known segments, fresh customers of the same world
    fresh = randomised_table(4000, seed=99)
    u = model.uplift(fresh)
    by = pd.Series(u).groupby(fresh["_segment"].to_numpy()).mean()
    assert by["kept"] > by["unchanged"] > by["pushed"], by.to_dict()
    assert by["kept"] > 0.05 and by["pushed"] < 0, by.to_dict()
    assert curve[0] == (0.0, 0.0) and curve[-1][0] == 1.0


def test_registered_as_its_own_model_and_promoted_only_through_its_gate(
        table: pd.DataFrame, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, uplift_bootstrap=100)
    result = train_uplift(settings, table.drop(columns=["_segment"]), source="test")
    assert result.promoted, result.report()
    assert result.gate.startswith("PASS")
    mlflow.set_tracking_uri(settings.tracking_uri)
    client = MlflowClient()
    champion = client.get_model_version_by_alias("churn-uplift", "champion")
    assert str(champion.version) == result.model_version
    loaded = mlflow.pyfunc.load_model("models:/churn-uplift@champion")
    out = loaded.predict(table[FEATURES].head(50))
    assert list(out.columns) == ["uplift", "churn_if_contacted", "churn_if_not"]
    assert np.allclose(out["uplift"], out["churn_if_not"] - out["churn_if_contacted"])
    run = client.get_run(result.run_id)
    assert "qini" in run.data.metrics and run.data.tags["kind"] == "uplift"
    # its own experiment, its artifacts under the configured root (not ./mlruns)
    assert client.get_experiment(run.info.experiment_id).name == "churn-uplift"
    assert run.info.artifact_uri.startswith(Path(settings.artifact_root).resolve().as_uri())
    assert "plots/qini.png" in [a.path for a in client.list_artifacts(result.run_id, "plots")]
    card = mlflow.artifacts.load_text(f"runs:/{result.run_id}/model_card.md")
    assert "CHURN_TARGETING=uplift" in card and "Qini coefficient" in card

    # contact that changes nothing: the interval cannot show an effect, nothing promoted
    flat = randomised_table(6000, seed=5, effect=False).drop(columns=["_segment"])
    refused = train_uplift(settings, flat, source="test")
    assert not refused.promoted and refused.gate.startswith("FAIL"), refused.report()
    assert str(client.get_model_version_by_alias("churn-uplift", "champion").version) \
        == result.model_version
    assert str(client.get_model_version_by_alias("churn-uplift", "challenger").version) \
        == refused.model_version


def test_too_few_labels_in_an_arm_are_refused_with_the_counts(tmp_path: Path) -> None:
    small = randomised_table(300, seed=8).drop(columns=["_segment"])
    with pytest.raises(UpliftDataError, match=r"control/left: \d+"):
        train_uplift(make_settings(tmp_path), small)
    with pytest.raises(UpliftDataError, match="arm"):
        train_uplift(make_settings(tmp_path), small.drop(columns=["arm"]))
