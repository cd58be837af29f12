"""MLflow tracking and registry: experiments, model logging, aliases and promotion gates."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature

from models import ChurnModel
from training.config import TrainSettings

CHALLENGER = "challenger"
CHAMPION = "champion"


def setup_tracking(settings: TrainSettings) -> str:
    """Point MLflow at the tracking store and make sure the experiment exists; returns its id."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.experiment)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if settings.tracking_uri.startswith("sqlite:") or settings.tracking_uri.startswith("file:"):
        # keep artifacts next to a local store, in a git-ignored folder
        location = Path(settings.artifact_root).resolve().as_uri()
    return client.create_experiment(settings.experiment, artifact_location=location)


def _requirements() -> list[str]:
    # Declared, not inferred: inference reloads the model in a subprocess (slow) and
    # guesses; these are what ChurnModel imports.
    wanted = ["mlflow", "lightgbm", "numpy", "pandas", "pydantic"]
    return [f"{name}=={importlib.metadata.version(name)}" for name in wanted]


def log_model(model: ChurnModel, folder: Path, signature: ModelSignature,
              input_example: pd.DataFrame, registered_name: str) -> tuple[str, str]:
    """Log `model` as a pyfunc in the active run and register it; returns (uri, version)."""
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=model,
        artifacts=model.save_artifacts(folder),
        signature=signature,
        input_example=input_example,
        registered_model_name=registered_name,
        pip_requirements=_requirements(),
    )
    return info.model_uri, str(info.registered_model_version)


def set_alias(name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(name, alias, version)


def version_by_alias(name: str, alias: str):
    """The model version behind `alias`, or None when the alias is not set."""
    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


@dataclass
class GateResult:
    promoted: bool
    challenger_version: str | None
    champion_version: str | None
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"  PASS {g}" for g in self.passed] + [f"  FAIL {g}" for g in self.failed]
        head = (f"promoted version {self.challenger_version} to @{CHAMPION}" if self.promoted
                else f"version {self.challenger_version} NOT promoted; @{CHAMPION} stays at "
                     f"{self.champion_version or '(none)'}")
        return head + "\n" + "\n".join(lines)


class PromotionError(RuntimeError):
    """Nothing to promote (no challenger)."""


def _run_metrics(run_id: str) -> dict[str, float]:
    return MlflowClient().get_run(run_id).data.metrics


def promote(settings: TrainSettings) -> GateResult:
    """Move @champion to @challenger when it passes every gate; say which gate failed otherwise.

    Gates: ROC-AUC at least the floor; the largest equalized-odds difference over the
    sensitive attributes at most the ceiling; ROC-AUC not below the current champion's
    by more than the tolerance. An empty registry skips only the comparison.
    """
    setup_tracking(settings)
    name = settings.model_name
    challenger = version_by_alias(name, CHALLENGER)
    if challenger is None:
        raise PromotionError(f"model {name!r} has no @{CHALLENGER}; run `make train` first")
    champion = version_by_alias(name, CHAMPION)
    result = GateResult(promoted=False, challenger_version=str(challenger.version),
                        champion_version=str(champion.version) if champion else None)
    if champion is not None and champion.version == challenger.version:
        result.passed.append(f"version {challenger.version} is already @{CHAMPION}")
        result.promoted = True
        return result
    metrics = _run_metrics(challenger.run_id)
    auc = metrics.get("roc_auc", float("nan"))
    eod = metrics.get("max_equalized_odds_difference", float("nan"))
    checks = [
        (auc >= settings.gate_min_roc_auc,
         f"quality: ROC-AUC {auc:.4f} >= floor {settings.gate_min_roc_auc}"),
        (eod <= settings.gate_max_equalized_odds,
         f"fairness: max equalized-odds difference {eod:.4f} <= ceiling "
         f"{settings.gate_max_equalized_odds}"),
    ]
    if champion is None:
        result.passed.append(f"no current @{CHAMPION}: comparison skipped (empty registry)")
    else:
        champion_auc = _run_metrics(champion.run_id).get("roc_auc", float("nan"))
        checks.append((
            auc >= champion_auc - settings.gate_champion_tolerance,
            f"no regression: ROC-AUC {auc:.4f} >= champion v{champion.version} "
            f"{champion_auc:.4f} - tolerance {settings.gate_champion_tolerance}",
        ))
    for ok, text in checks:
        (result.passed if ok else result.failed).append(text)
    if not result.failed:
        set_alias(name, CHAMPION, challenger.version)
        result.promoted = True
    client = MlflowClient()
    client.set_model_version_tag(name, challenger.version, "gates",
                                 "passed" if result.promoted else "failed: "
                                 + "; ".join(result.failed))
    return result
