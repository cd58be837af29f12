"""The trained artefacts the suites share (tests/artefacts.py): built once per run, each
session's copy of an MLflow store stands on its own, and a new store whose tables come from
the template is the store MLflow would have made."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from tests import artefacts


def test_built_once_and_a_failure_remembered(tmp_path_factory: pytest.TempPathFactory) -> None:
    calls: list[Path] = []

    def build(folder: Path) -> str:
        calls.append(folder)
        (folder / "made").write_text("x")
        return "value"

    key = f"probe-{id(calls)}"
    assert artefacts.build_once(tmp_path_factory, key, build) == "value"
    assert artefacts.build_once(tmp_path_factory, key, build) == "value"
    assert len(calls) == 1 and (artefacts.shared_folder(tmp_path_factory, key) / "made").is_file()

    def broken(folder: Path) -> str:
        calls.append(folder)
        raise RuntimeError("no data")

    with pytest.raises(RuntimeError, match="no data"):
        artefacts.build_once(tmp_path_factory, key + "-broken", broken)
    with pytest.raises(pytest.fail.Exception, match="no data"):  # not built again
        artefacts.build_once(tmp_path_factory, key + "-broken", broken)
    assert len(calls) == 2


def test_a_copied_store_stands_on_its_own(tmp_path_factory: pytest.TempPathFactory,
                                          tmp_path: Path) -> None:
    first, trained = artefacts.champion_store(tmp_path_factory, "copy-probe")
    second = artefacts.copy_store(first, tmp_path / "second")
    shutil.rmtree(first)  # nothing in the second copy points into the first
    with sqlite3.connect(second / artefacts.STORE_DB) as conn:
        dump = "\n".join(conn.iterdump())
    assert str(first) not in dump and str(second) in dump
    copy = artefacts.Trained(f"sqlite:///{second}/mlflow.db", trained.model_name,
                             trained.model_version, trained.model_uri)
    model = artefacts.load_champion(copy)
    assert model.feature_names
    # and what is logged through it lands in it
    client = MlflowClient(tracking_uri=copy.tracking_uri)
    version = client.get_model_version_by_alias(trained.model_name, "champion")
    run = client.get_run(version.run_id)
    assert run.info.artifact_uri.startswith(f"file://{second}")


def _schema(path: Path) -> list[tuple]:
    """Every table, index and trigger with its definition (the lines of its DDL in any
    order: MLflow's own stores list a table's CHECK constraints in varying order), and the
    migration revision."""
    with sqlite3.connect(path) as conn:
        objects = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        schema = [(kind, name, sorted(line.strip().rstrip(",")
                                      for line in (sql or "").splitlines()))
                  for kind, name, sql in objects]
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return [*schema, *version]


def test_a_store_made_from_the_template_is_the_one_mlflow_makes(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow.store.db.utils as db_utils
    import mlflow.store.model_registry.sqlalchemy_store as registry_store

    # MLflow's own way, whatever the session has patched
    session_wide = db_utils._initialize_tables
    own = getattr(session_wide, "mlflow_own", session_wide)
    monkeypatch.setattr(db_utils, "_initialize_tables", own)
    monkeypatch.setattr(registry_store, "_initialize_tables", own)
    made = tmp_path / "made.db"
    MlflowClient(tracking_uri=f"sqlite:///{made}").search_experiments()

    undo = artefacts.new_stores_from_a_template(tmp_path_factory)
    patched = db_utils._initialize_tables
    assert patched is not own and registry_store._initialize_tables is patched
    templated = tmp_path / "templated.db"
    try:
        MlflowClient(tracking_uri=f"sqlite:///{templated}").search_experiments()
    finally:
        undo()
    assert db_utils._initialize_tables is own  # undone
    assert _schema(templated) == _schema(made)
    # and it works as a store
    mlflow.set_tracking_uri(f"sqlite:///{templated}")
    client = MlflowClient()
    experiment = client.create_experiment("probe", artifact_location=(tmp_path / "a").as_uri())
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "m", 1.0)
    assert client.get_run(run.info.run_id).data.metrics == {"m": 1.0}
