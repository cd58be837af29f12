"""`make train-uplift`: who does a retention contact keep? A treatment-effect model (issue 17).

Reads a training table with the randomised arm of each prediction (`arm`: contact or
control), its observed label (`label`: 1 left within the horizon, 0 stayed) and the
features the churn model read (the Parquet `make retrain` exports, or the simulation's).
Fits a T-learner (`models.uplift.UpliftModel`: one LightGBM churn model per arm) on part of
the customers and evaluates it on the others (all rows of a customer on the same side):

- the **Qini curve**: ranking held-out rows by estimated uplift, the cumulative number of
  customers kept among the contacted, minus the control group's, scaled to the contacted
  count; the **Qini coefficient** is the area between it and the random-targeting diagonal,
  per row (0: no better than random);
- **uplift at k**: among the top `CHURN_UPLIFT_TOP_FRACTION` (30 %) ranked rows, churn in
  the control group minus churn among the contacted (how much contacting them helps);

each with a 95 % bootstrap interval (`CHURN_UPLIFT_BOOTSTRAP` resamples of held-out rows).
The run is logged to MLflow and the model registered as `churn-uplift` (alias
`challenger`). **Gate**: it becomes `champion` only when the lower end of the uplift-at-k
interval is above 0: contact of the customers it would pick is shown to help.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from models.spec import FeatureSpec
from models.uplift import UpliftModel, UpliftSpec, encode
from training.config import TrainSettings
from training.registry import CHALLENGER, CHAMPION, _requirements, setup_tracking

log = logging.getLogger("training.uplift")

# columns of a training table that are never features
NOT_FEATURES = {"customer_ref", "customer_id", "arm", "label", "prediction_id", "scored_at",
                "model_name", "model_version", "period", "score", "risk_band", "left_on",
                "route_action", "targeting", "uplift", "source", "withdrawn", "task_status",
                "task_outcome", "restricted", "objected", "weight"}
ARMS = ("contact", "control")


class UpliftDataError(ValueError):
    """The table cannot train an uplift model; the message says how to fix it."""


@dataclass
class UpliftResult:
    run_id: str
    model_version: str
    promoted: bool
    metrics: dict[str, float]
    gate: str
    qini_curve: list[tuple[float, float]] = field(default_factory=list)

    def report(self) -> str:
        m = self.metrics
        return (
            f"uplift model churn-uplift v{self.model_version} (run {self.run_id})\n"
            f"  held-out rows {int(m['heldout_rows'])} "
            f"(contact {int(m['heldout_contact'])}, control {int(m['heldout_control'])})\n"
            f"  Qini coefficient {m['qini']:.4f} [{m['qini_low']:.4f}, {m['qini_high']:.4f}] "
            "(0 = random targeting)\n"
            f"  uplift at top {m['top_fraction']:.0%}: {m['uplift_at_k']:+.3f} "
            f"[{m['uplift_at_k_low']:+.3f}, {m['uplift_at_k_high']:+.3f}] "
            "(churn among control minus among contacted)\n"
            f"  average effect of contact on held-out rows: {m['ate_heldout']:+.3f}\n"
            f"  gate: {self.gate}\n"
            + (f"  promoted to @{CHAMPION}" if self.promoted else f"  NOT promoted: @{CHAMPION}"
               " unchanged"))


def load_table(data: str | Path | pd.DataFrame) -> pd.DataFrame:
    """The training table, checked: `arm` and `label` present, both arms labelled."""
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
    else:
        path = Path(data)
        if not path.is_file():
            raise UpliftDataError(f"{path} does not exist: give the Parquet (or CSV) table "
                                  "with arm and label columns (make retrain writes one)")
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in ("arm", "label") if c not in frame]
    if missing:
        raise UpliftDataError(f"the table lacks {missing}: an uplift model needs each row's "
                              "randomised arm (contact/control) and observed label (0/1)")
    frame = frame[frame["arm"].isin(ARMS) & frame["label"].notna()].reset_index(drop=True)
    frame["label"] = frame["label"].astype(int)
    return frame


def check_enough(frame: pd.DataFrame, minimum: int) -> None:
    """Refuse a table with fewer than `minimum` leavers or stayers in either arm."""
    counts = frame.groupby(["arm", "label"]).size()
    short = [f"{arm}/{'left' if y else 'stayed'}: {int(counts.get((arm, y), 0))}"
             for arm in ARMS for y in (0, 1) if counts.get((arm, y), 0) < minimum]
    if short:
        raise UpliftDataError(
            f"not enough labelled rows to learn who contact keeps: expected at least "
            f"{minimum} per arm and label, got {', '.join(short)}. Let the control group "
            "run longer (or raise CHURN_CONTROL_FRACTION), or lower CHURN_UPLIFT_MIN_PER_ARM")


def feature_specs(frame: pd.DataFrame) -> list[FeatureSpec]:
    """Every non-reserved column as a feature: numbers numeric, anything else categorical
    with its sorted values as categories."""
    out = []
    for name in frame.columns:
        if name in NOT_FEATURES or name.startswith("_"):
            continue
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out.append(FeatureSpec(name=name, kind="numeric"))
        else:
            cats = sorted({str(v) for v in col.dropna()})
            out.append(FeatureSpec(name=name, kind="categorical", categories=cats or [""]))
    if not out:
        raise UpliftDataError("the table has no feature columns beside arm and label")
    return out


def customer_split(frame: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    """True for held-out rows: a random `fraction` of customers, all their rows."""
    key = frame["customer_ref"] if "customer_ref" in frame else pd.Series(frame.index)
    customers = key.astype(str).unique()
    rng = np.random.default_rng(seed)
    held = set(rng.choice(customers, int(round(len(customers) * fraction)), replace=False))
    return key.astype(str).isin(held).to_numpy()


def fit_arm(X: np.ndarray, y: np.ndarray, categorical: list[int], settings: TrainSettings
            ) -> lgb.Booster:
    """One arm's churn model (shallow, regularised: arms are small)."""
    params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 8,
              "min_data_in_leaf": 40, "lambda_l2": 1.0, "feature_fraction": 0.9,
              "bagging_fraction": 0.9, "bagging_freq": 1, "seed": settings.seed,
              "num_threads": settings.threads, "verbose": -1,
              "deterministic": True, "force_row_wise": True}
    data = lgb.Dataset(X, y, categorical_feature=categorical or "auto", free_raw_data=False)
    return lgb.train(params, data, num_boost_round=200)


def qini_curve(uplift: np.ndarray, treated: np.ndarray, y: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(share of rows targeted, Qini) at each cut, ranked by `uplift` (highest first).

    Qini(k) = kept among the treated of the top k - kept among its controls x
    (treated / controls in the top k); kept = did not leave (1 - y)."""
    order = np.argsort(-uplift, kind="stable")
    t = treated[order].astype(float)
    kept = 1.0 - y[order]
    n_t = np.cumsum(t)
    n_c = np.cumsum(1 - t)
    r_t = np.cumsum(kept * t)
    r_c = np.cumsum(kept * (1 - t))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = r_t - np.where(n_c > 0, r_c * n_t / n_c, 0.0)
    share = np.arange(1, len(order) + 1) / len(order)
    return np.r_[0.0, share], np.r_[0.0, q]


def qini_coefficient(uplift: np.ndarray, treated: np.ndarray, y: np.ndarray) -> float:
    """Area between the Qini curve and the random-targeting diagonal, per row."""
    x, q = qini_curve(uplift, treated, y)
    if len(q) < 2:
        return float("nan")
    diagonal = q[-1] * x
    return float(np.trapezoid(q - diagonal, x) / len(uplift))


def uplift_at_k(uplift: np.ndarray, treated: np.ndarray, y: np.ndarray, k: float) -> float:
    """Churn among controls minus among the treated, in the top `k` share by uplift."""
    n = max(1, int(round(len(uplift) * k)))
    top = np.argsort(-uplift, kind="stable")[:n]
    t, yy = treated[top], y[top]
    if t.all() or not t.any():
        return float("nan")
    return float(yy[~t].mean() - yy[t].mean())


def bootstrap(fn, uplift: np.ndarray, treated: np.ndarray, y: np.ndarray, n: int,
              seed: int) -> tuple[float, float]:  # noqa: ANN001
    """95 % percentile interval of `fn(uplift, treated, y)` over resampled rows."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        v = fn(uplift[idx], treated[idx], y[idx])
        if np.isfinite(v):
            values.append(v)
    if not values:
        return (float("nan"), float("nan"))
    return (float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975)))


def fit_uplift(frame: pd.DataFrame, settings: TrainSettings
               ) -> tuple[UpliftModel, dict[str, float], list[tuple[float, float]]]:
    """Fit on the training customers, evaluate on the held-out ones."""
    check_enough(frame, settings.uplift_min_per_arm)
    features = feature_specs(frame)
    spec = UpliftSpec(features=features, training_rows=len(frame),
                      trained_at=datetime.now(UTC).isoformat(timespec="seconds"))
    X = encode(spec, frame)
    y = frame["label"].to_numpy(dtype=int)
    treated = (frame["arm"] == "contact").to_numpy()
    held = customer_split(frame, settings.uplift_test_fraction, settings.seed)
    categorical = [j for j, f in enumerate(features) if f.kind != "numeric"]
    fit = ~held
    check_enough(frame[fit], max(5, settings.uplift_min_per_arm // 2))
    contact = fit_arm(X[fit & treated], y[fit & treated], categorical, settings)
    control = fit_arm(X[fit & ~treated], y[fit & ~treated], categorical, settings)
    model = UpliftModel.from_parts(contact, control, spec)
    u = model.uplift(frame[held])
    t, yy = treated[held], y[held]
    k = settings.uplift_top_fraction
    qini = qini_coefficient(u, t, yy)
    q_low, q_high = bootstrap(qini_coefficient, u, t, yy, settings.uplift_bootstrap,
                              settings.seed)
    at_k = uplift_at_k(u, t, yy, k)
    k_low, k_high = bootstrap(lambda a, b, c: uplift_at_k(a, b, c, k), u, t, yy,
                              settings.uplift_bootstrap, settings.seed + 1)
    ate = float(yy[~t].mean() - yy[t].mean()) if t.any() and (~t).any() else float("nan")
    metrics = {"qini": qini, "qini_low": q_low, "qini_high": q_high, "uplift_at_k": at_k,
               "uplift_at_k_low": k_low, "uplift_at_k_high": k_high, "top_fraction": k,
               "ate_heldout": ate, "heldout_rows": float(held.sum()),
               "heldout_contact": float(t.sum()), "heldout_control": float((~t).sum()),
               "training_rows": float(fit.sum()),
               "mean_uplift_heldout": float(np.mean(u))}
    x, q = qini_curve(u, t, yy)
    step = max(1, len(x) // 100)
    curve = [(round(float(a), 4), round(float(b), 3)) for a, b in zip(x[::step], q[::step],
                                                                     strict=True)]
    spec.evaluation = {**metrics, "qini_curve": curve,
                       "method": "T-learner on LightGBM; held-out customers "
                                 f"({settings.uplift_test_fraction:.0%}), bootstrap "
                                 f"{settings.uplift_bootstrap} resamples"}
    return model, metrics, curve


def _qini_plot(curve: list[tuple[float, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [a for a, _ in curve]
    q = [b for _, b in curve]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, q, label="uplift model")
    ax.plot([0, 1], [0, q[-1] if q else 0], "--", color="grey", label="random targeting")
    ax.set_xlabel("share of held-out customers contacted (ranked by uplift)")
    ax.set_ylabel("customers kept (Qini)")
    ax.set_title("Qini curve on held-out customers")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def uplift_card(model: UpliftModel, metrics: dict[str, float], gate: str,
                settings: TrainSettings) -> str:
    """The uplift model's card: what it estimates, how it was evaluated, the rule it
    serves under."""
    m = metrics
    return f"""# Uplift model card: {settings.uplift_model_name}

## What it estimates

For each customer a retention task would be opened for, the **uplift**: the churn probability
without contact minus with it ({model.spec.learner}: one churn model per randomised arm).
Positive: a contact is estimated to keep the customer; negative: to push them away.
Features: {", ".join(model.spec.feature_names)}. Sensitive attributes are never features.

## The rule it serves under

With `CHURN_TARGETING=uplift` the batch opens a task only when
uplift x `CHURN_CUSTOMER_VALUE` - `CHURN_CONTACT_COST` > 0; customers with a negative uplift
are never queued; every receipt records `targeting=uplift` and its uplift. With the default
`CHURN_TARGETING=risk` this model is not used.

## Evaluation on held-out customers

- Held-out rows: {int(m["heldout_rows"])} (contact {int(m["heldout_contact"])}, control
  {int(m["heldout_control"])}); fitted on {int(m["training_rows"])} rows of other customers.
- Qini coefficient {m["qini"]:.4f}, 95 % interval [{m["qini_low"]:.4f}, {m["qini_high"]:.4f}]
  (0 = random targeting).
- Uplift in the top {m["top_fraction"]:.0%}: {m["uplift_at_k"]:+.3f}, 95 % interval
  [{m["uplift_at_k_low"]:+.3f}, {m["uplift_at_k_high"]:+.3f}].
- Gate: {gate}.

## Limits

The labels come from a randomised control group: the estimate is only as good as the group
is large and the contact as it was done when the labels were collected. Intention to treat: a
customer assigned to contact but not reached counts as contacted.
"""


def train_uplift(settings: TrainSettings, data: str | Path | pd.DataFrame,
                 source: str = "") -> UpliftResult:
    """Fit, evaluate, log, register as `churn-uplift`@challenger, and promote to
    @champion when the gate passes."""
    frame = load_table(data)
    model, metrics, curve = fit_uplift(frame, settings)
    experiment_id = setup_tracking(settings, f"{settings.experiment}-uplift")
    passed = np.isfinite(metrics["uplift_at_k_low"]) and metrics["uplift_at_k_low"] > 0
    gate = (f"{'PASS' if passed else 'FAIL'} uplift at top {metrics['top_fraction']:.0%}: "
            f"95 % interval [{metrics['uplift_at_k_low']:+.3f}, "
            f"{metrics['uplift_at_k_high']:+.3f}] must lie above 0")
    with (mlflow.start_run(experiment_id=experiment_id, run_name="uplift") as run,
          tempfile.TemporaryDirectory() as tmp):
        mlflow.set_tags({"kind": "uplift", "source": source or "dataframe"})
        mlflow.log_params({"learner": model.spec.learner,
                           "features": ",".join(model.spec.feature_names),
                           "test_fraction": settings.uplift_test_fraction,
                           "top_fraction": settings.uplift_top_fraction,
                           "bootstrap": settings.uplift_bootstrap, "seed": settings.seed})
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        plot = Path(tmp) / "qini.png"
        _qini_plot(curve, plot)
        mlflow.log_artifact(str(plot), "plots")
        mlflow.log_text(uplift_card(model, metrics, gate, settings), "model_card.md")
        example = frame[model.spec.feature_names].head(5)
        info = mlflow.pyfunc.log_model(
            name="uplift_model", python_model=model,
            artifacts=model.save_artifacts(Path(tmp) / "artifacts"),
            input_example=example, registered_model_name=settings.uplift_model_name,
            pip_requirements=_requirements())
        version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(settings.uplift_model_name, CHALLENGER, version)
    client.set_model_version_tag(settings.uplift_model_name, version, "gate", gate)
    if passed:
        client.set_registered_model_alias(settings.uplift_model_name, CHAMPION, version)
    return UpliftResult(run_id=run.info.run_id, model_version=version, promoted=passed,
                        metrics=metrics, gate=gate, qini_curve=curve)


def main(argv: list[str] | None = None) -> int:
    """`python -m training.uplift --data <table.parquet>`: train, evaluate, gate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="Parquet/CSV with arm, label, features")
    parser.add_argument("--summary", help="write the metrics as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = train_uplift(TrainSettings(), args.data, source=args.data)
    except UpliftDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.report())
    if args.summary:
        Path(args.summary).write_text(json.dumps(
            {"model_version": result.model_version, "promoted": result.promoted,
             "gate": result.gate, "metrics": result.metrics}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
