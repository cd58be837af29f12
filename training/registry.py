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

from models import ChurnModel, ModelSpec
from models.tracking import use_experiment
from training.config import TrainSettings

CHALLENGER = "challenger"
CHAMPION = "champion"


def setup_tracking(settings: TrainSettings, experiment_name: str | None = None) -> str:
    """Point MLflow at the tracking store and make sure the experiment exists (by default
    the settings' own, its artifacts under the artifact root); returns its id."""
    return use_experiment(settings.tracking_uri, experiment_name or settings.experiment,
                          settings.artifact_root)


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
    # issue 18: how the challenger scores the customers reviewers judged mistaken
    reviewed: str | None = None

    def report(self) -> str:
        lines = [f"  PASS {g}" for g in self.passed] + [f"  FAIL {g}" for g in self.failed]
        if self.reviewed:
            lines.append(self.reviewed)
        head = (f"promoted version {self.challenger_version} to @{CHAMPION}" if self.promoted
                else f"version {self.challenger_version} NOT promoted; @{CHAMPION} stays at "
                     f"{self.champion_version or '(none)'}")
        return head + "\n" + "\n".join(lines)


class PromotionError(RuntimeError):
    """Nothing to promote (no challenger)."""


def _run_metrics(run_id: str) -> dict[str, float]:
    return MlflowClient().get_run(run_id).data.metrics


def _load(name: str, version: str) -> ChurnModel:
    return mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model()


def contract_differences(challenger: ModelSpec, champion: ModelSpec) -> list[str]:
    """How the challenger's contract (data set, target, features) differs from the champion's."""
    out = []
    if challenger.dataset != champion.dataset:
        out.append(f"data set {challenger.dataset!r} instead of {champion.dataset!r}")
    if (challenger.target, challenger.positive_label) != (champion.target,
                                                           champion.positive_label):
        out.append(f"target {challenger.target}={challenger.positive_label!r} instead of "
                   f"{champion.target}={champion.positive_label!r}")
    added = [f for f in challenger.feature_names if f not in champion.feature_names]
    removed = [f for f in champion.feature_names if f not in challenger.feature_names]
    if added or removed:
        out.append("features " + "; ".join(filter(None, [
            f"added {added}" if added else "", f"removed {removed}" if removed else ""])))
    return out


def heldout_rows(run_id: str, settings: TrainSettings):
    """The challenger's held-out rows, re-read from the data it was trained on (checked by
    digest), with their outcomes. Raises ValueError when they cannot be found again."""
    from training.data import prepare
    from training.modeling import holdout_split
    from training.pipeline import load_with_provenance

    run = MlflowClient().get_run(run_id)
    tags, params = run.data.tags, run.data.params
    run_settings = settings.model_copy(update={
        "seed": int(params.get("seed", settings.seed)),
        "test_fraction": float(params.get("test_fraction", settings.test_fraction))})
    if run_settings.test_fraction <= 0:
        raise ValueError("the challenger was trained without held-out rows "
                         "(CHURN_TEST_FRACTION=0)")
    if "data_path" in tags:
        if not Path(tags["data_path"]).is_file():
            raise ValueError(f"the challenger's data file {tags['data_path']} is gone")
        frame, schema, provenance = load_with_provenance(tags["data_path"],
                                                         tags["schema_path"], run_settings)
    elif "synthetic_rows" in tags:
        frame, schema, provenance = load_with_provenance(
            None, None, run_settings, synthetic_rows=int(tags["synthetic_rows"]),
            synthetic_seed=int(tags["synthetic_seed"]))
    else:
        raise ValueError("the challenger's run does not say which data it was trained on")
    if provenance.data_sha256 != tags.get("data_sha256"):
        raise ValueError("the challenger's data file changed since training (SHA-256 differs)")
    prepared = prepare(frame, schema, settings.pseudonym_secret)
    _, test = holdout_split(prepared.y, run_settings)
    return prepared.candidates.iloc[test].reset_index(drop=True), prepared.y[test]


def promote(settings: TrainSettings, allow_new_contract: bool | None = None,
            reviewed: str | Path | None = None) -> GateResult:
    """Move @champion to @challenger when it passes every gate; say which gate failed otherwise.

    Gates: the honest ROC-AUC (held-out rows) at least the floor; the largest
    equalized-odds difference over the sensitive attributes at most the ceiling (on the
    point estimate or the 95 % interval's upper end, as set; not applicable when nothing
    was audited); the same contract as the champion (data set, target, features) unless
    a new one is allowed explicitly; and not worse than the champion by more than the
    tolerance, both scored on the challenger's held-out rows. An empty registry skips
    the comparisons. With `reviewed` (the service's `export-reviewed` file), the report
    also shows how the challenger scores the customers whose disputes were decided
    rectified or overturned, beside the champion (`training.reviewed`; not a gate).
    """
    from sklearn.metrics import roc_auc_score

    allow = settings.allow_new_contract if allow_new_contract is None else allow_new_contract
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
    run = MlflowClient().get_run(challenger.run_id)
    tags = run.data.tags
    honest = "honest_roc_auc" in metrics
    auc = metrics.get("honest_roc_auc", metrics.get("roc_auc", float("nan")))
    what = "honest, held-out rows" if honest else "out-of-fold"
    checks = [(auc >= settings.gate_min_roc_auc,
               f"quality: ROC-AUC {auc:.4f} ({what}) >= floor {settings.gate_min_roc_auc}")]
    if tags.get("fairness_audited") == "true" and "max_equalized_odds_difference" not in metrics:
        # the schema names sensitive attributes but no gap could be measured (every group
        # too small to compare): passing would be the silent 0 the audit never gives
        min_group = run.data.params.get("fairness_min_group", settings.fairness_min_group)
        checks.append((False, "fairness: not measured: the schema names sensitive "
                       "attributes, but none has two groups with at least "
                       f"CHURN_FAIRNESS_MIN_GROUP ({min_group}) churners and "
                       f"stayers, so no equalized-odds difference exists to compare with the "
                       f"ceiling {settings.gate_max_equalized_odds}. Train on more rows, or "
                       "lower CHURN_FAIRNESS_MIN_GROUP (a noisier audit)"))
    elif "max_equalized_odds_difference" not in metrics:
        result.passed.append("fairness: not applicable (not audited: the schema names no "
                             "sensitive attribute)")
    else:
        on_upper = settings.fairness_gate_on == "upper"
        eod = metrics.get("max_equalized_odds_upper_95" if on_upper
                          else "max_equalized_odds_difference", float("nan"))
        basis = ("upper end of the 95 % interval" if on_upper else
                 f"point estimate; 95 % interval upper end "
                 f"{metrics.get('max_equalized_odds_upper_95', float('nan')):.4f}")
        checks.append((eod <= settings.gate_max_equalized_odds,
                       f"fairness: max equalized-odds difference {eod:.4f} ({basis}) <= "
                       f"ceiling {settings.gate_max_equalized_odds}"))
    new = old = None
    if champion is None:
        result.passed.append(f"no current @{CHAMPION}: comparison skipped (empty registry)")
    else:
        new, old = _load(name, str(challenger.version)), _load(name, str(champion.version))
        differences = contract_differences(new.spec, old.spec)
        comparable = True
        if differences:
            text = (f"contract: the challenger differs from champion v{champion.version}: "
                    + "; ".join(differences))
            if allow:
                result.passed.append(text + " (a new contract allowed explicitly)")
            else:
                checks.append((False, text + ". Serving clients send the champion's "
                               "features; promote a new contract only on purpose: "
                               "make promote ALLOW_NEW_CONTRACT=1"))
            comparable = not [d for d in differences if not d.startswith("features")]
        try:
            rows, y = heldout_rows(challenger.run_id, settings)
        except ValueError as exc:
            rows, y = None, None
            checks.append((allow, f"no regression: cannot score both on the same held-out rows "
                                  f"({exc})" + ("; skipped, new contract allowed" if allow
                                               else "; retrain from the data file")))
        if rows is not None:
            missing = [f for f in old.feature_names if f not in rows.columns]
            if not comparable or missing:
                result.passed.append("no regression: not comparable (the champion cannot "
                                     "score the challenger's data), new contract allowed")
            else:
                new_auc = float(roc_auc_score(y, new.explain_frame(rows).margin))
                old_auc = float(roc_auc_score(y, old.explain_frame(rows[old.feature_names])
                                              .margin))
                checks.append((
                    new_auc >= old_auc - settings.gate_champion_tolerance,
                    f"no regression: ROC-AUC {new_auc:.4f} >= champion v{champion.version} "
                    f"{old_auc:.4f} - tolerance {settings.gate_champion_tolerance}, both "
                    f"scored on the challenger's {len(y)} held-out rows"))
    for ok, text in checks:
        (result.passed if ok else result.failed).append(text)
    if reviewed is not None and Path(reviewed).is_file():
        from training.reviewed import log_to_run
        from training.reviewed import report as reviewed_report

        cases = reviewed_report(reviewed, new or _load(name, str(challenger.version)), old)
        result.reviewed = cases.text()
        log_to_run(MlflowClient(), challenger.run_id, cases)
    if not result.failed:
        set_alias(name, CHAMPION, challenger.version)
        result.promoted = True
    client = MlflowClient()
    client.set_model_version_tag(name, challenger.version, "gates",
                                 "passed" if result.promoted else "failed: "
                                 + "; ".join(result.failed))
    return result
