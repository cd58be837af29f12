"""The MLflow experiment a run is logged to, made the same way by training and serving."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow import MlflowClient


def use_experiment(tracking_uri: str, name: str, artifact_root: str | Path) -> str:
    """Point MLflow at `tracking_uri` and return the id of experiment `name`, created when
    missing. Beside a local store (SQLite or a folder) a new experiment keeps its artifacts
    under `artifact_root` (git-ignored, the same for every command), not MLflow's default
    `./mlruns` of whatever folder the command ran in; a tracking server keeps its own
    default."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    local = tracking_uri.startswith(("sqlite:", "file:"))
    location = Path(artifact_root).resolve().as_uri() if local else None
    return client.create_experiment(name, artifact_location=location)
