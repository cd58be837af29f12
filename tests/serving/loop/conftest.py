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


def synthetic_base(tmp_path: Path, rows: int, seed: int = 5) -> tuple[Path, object]:
    """A synthetic customer file (CSV) and its frame."""
    from training.synthetic import generate

    frame = generate(rows, seed=seed)
    path = tmp_path / f"base-{seed}-{rows}.csv"
    frame.to_csv(path, index=False)
    return path, frame
