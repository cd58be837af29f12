"""Corrupted training files through the command line: one clear error each, exit code 2,
and the MLflow registry left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from training.cli import main
from training.synthetic import SCHEMA_PATH, generate


def _truncated(path: Path) -> None:
    generate(400, seed=5).to_csv(path, index=False)
    text = path.read_text()
    path.write_text(text[: int(len(text) * 0.6)])


def _wrong_delimiter(path: Path) -> None:
    generate(400, seed=5).to_csv(path, index=False, sep="\t")


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(1).bytes(20_000))


def _mixed_types(path: Path) -> None:
    frame = generate(400, seed=5).astype({"tenure": object})
    frame.loc[[3, 50], "tenure"] = "twelve"
    frame.to_csv(path, index=False)


def _zero_rows(path: Path) -> None:
    generate(10, seed=5).head(0).to_csv(path, index=False)


def _one_class(path: Path) -> None:
    generate(400, seed=5).assign(Churn="Yes").to_csv(path, index=False)


CASES = {
    "truncated": (_truncated, "fewer fields than its 22-column header"),
    "wrong_delimiter": (_wrong_delimiter, "single column"),
    "binary_garbage": (_garbage, "binary data"),
    "mixed_types": (_mixed_types, "'tenure' is declared numeric but rows 5, 52 hold text"),
    "zero_rows": (_zero_rows, "no data rows"),
    "one_class": (_one_class, "single class 'Yes'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_corrupted_csv_gives_one_clear_error_and_no_registry_change(case, tmp_path, capsys,
                                                                     monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("CHURN_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("CHURN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    make, message = CASES[case]
    data = tmp_path / "customers.csv"
    make(data)
    code = main(["train", "--data", str(data), "--schema", str(SCHEMA_PATH)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("error:") == 1
    assert message in err
    assert "Traceback" not in err
    mlflow.set_tracking_uri(uri)
    assert MlflowClient().search_registered_models() == []
    assert not (tmp_path / "reports" / "last_run.json").exists()


def test_schema_without_data_is_refused(capsys):
    assert main(["train", "--schema", str(SCHEMA_PATH)]) == 2
    assert "SCHEMA= was given without DATA=" in capsys.readouterr().err
