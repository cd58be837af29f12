"""The loop's suites run with a control group (the other suites run without one): the
settings below hold out a share of the customers a high score would send to an agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.config import Settings

# large enough that a few scored customers include both arms
LOOP_FRACTION = 0.5


@pytest.fixture
def settings(database_url: str, base_settings: Settings, tmp_path: Path) -> Settings:
    return base_settings.model_copy(update={"database_url": database_url,
                                            "mailbox_dir": str(tmp_path / "mailbox"),
                                            "control_fraction": LOOP_FRACTION})


@pytest.fixture(scope="session")
def uplift_version(trained, tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: ANN001
    """An uplift model (T-learner) fitted on the simulated world's randomised customers,
    registered beside the session's churn model as `churn-uplift` (served by number: the
    loop's tests are about targeting, not the uplift gate)."""
    from tests.training.test_uplift import randomised_table
    from training.config import TrainSettings
    from training.uplift import train_uplift

    tmp = tmp_path_factory.mktemp("uplift")
    settings = TrainSettings(tracking_uri=trained.tracking_uri, artifact_root=tmp / "art",
                             reports_dir=tmp / "rep", uplift_bootstrap=50)
    result = train_uplift(settings, randomised_table(12_000, seed=3).drop(columns=["_segment"]))
    return result.model_version


def uplift_settings(settings: Settings, version: str, **update: object) -> Settings:
    """`settings` with uplift targeting in force on that uplift model."""
    return settings.model_copy(update={"targeting": "uplift",
                                       "uplift_model_uri": f"models:/churn-uplift/{version}",
                                       **update})


def synthetic_base(tmp_path: Path, rows: int, seed: int = 5) -> tuple[Path, object]:
    """A synthetic customer file (CSV) and its frame."""
    from training.synthetic import generate

    frame = generate(rows, seed=seed)
    path = tmp_path / f"base-{seed}-{rows}.csv"
    frame.to_csv(path, index=False)
    return path, frame
