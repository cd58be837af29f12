"""Challenger against champion on the same rows (`make retrain`'s last step).

Both registered models score the same data (typically the most recent labelled customers
of a retraining export, `recent.parquet`, which neither trained on) through `make evaluate`'s
code: each is logged as its own evaluation run naming its exact version, and the figures
are printed side by side with the challenger's change. Nothing is promoted here: `make
promote` still decides, on its gates.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from training.config import TrainSettings
from training.registry import CHALLENGER, CHAMPION, setup_tracking, version_by_alias

log = logging.getLogger(__name__)
SHOWN = ("roc_auc", "pr_auc", "brier", "ece", "log_loss", "routed_fraction")


def compare(settings: TrainSettings, data: str | Path, schema: str | Path) -> dict[str, Any]:
    """Evaluate @challenger and @champion on `data`; the comparison (also written to
    reports/last_comparison.json)."""
    from training.pipeline import evaluate

    setup_tracking(settings)
    name = settings.model_name
    out: dict[str, Any] = {"data": str(data), "models": {}}
    for alias in (CHALLENGER, CHAMPION):
        version = version_by_alias(name, alias)
        if version is None:
            out["models"][alias] = {"missing": f"no @{alias} of {name!r} is registered"}
            continue
        try:
            summary = evaluate(settings, f"models:/{name}@{alias}", data, schema)
        except ValueError as exc:  # a champion with other features cannot score this data
            out["models"][alias] = {"version": str(version.version), "error": str(exc)}
            continue
        out["models"][alias] = {
            "version": summary["model_version"], "run_id": summary["run_id"],
            "rows": summary["rows"], "split": summary["evaluation"]["split"],
            "metrics": {k: summary["metrics"].get(k) for k in SHOWN},
            **({"warning": summary["warning"]} if "warning" in summary else {})}
    both = [out["models"][a].get("metrics") for a in (CHALLENGER, CHAMPION)]
    if all(both):
        out["challenger_minus_champion"] = {
            k: (both[0][k] - both[1][k]) if both[0][k] is not None and both[1][k] is not None
            else None for k in SHOWN}
    path = settings.reports_dir / "last_comparison.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out


def table(out: dict[str, Any]) -> str:
    """The comparison as text."""
    lines = [f"challenger against champion on {out['data']} (the same rows for both)"]
    models = out["models"]
    for alias, m in models.items():
        if "metrics" in m:
            lines.append(f"  @{alias}: v{m['version']}, {m['rows']} rows ({m['split']}), "
                         f"evaluation run {m['run_id']}")
            if "warning" in m:
                lines.append(f"    warning: {m['warning']}")
        else:
            lines.append(f"  @{alias}: {m.get('missing') or m.get('error')}")
    diff = out.get("challenger_minus_champion")
    lines.append(f"  {'metric':<16}{'challenger':>12}{'champion':>12}{'change':>10}")
    for k in SHOWN:
        cells = [models[a].get("metrics", {}).get(k) for a in (CHALLENGER, CHAMPION)]
        change = diff.get(k) if diff else None
        fmt = (lambda v: f"{v:.4f}" if isinstance(v, float) else "-")  # noqa: E731
        lines.append(f"  {k:<16}{fmt(cells[0]):>12}{fmt(cells[1]):>12}"
                     f"{(f'{change:+.4f}' if isinstance(change, float) else '-'):>10}")
    lines.append("  (ROC-AUC and PR-AUC: higher is better; Brier, ECE, log-loss: lower. "
                 "Promotion is decided by make promote's gates.)")
    return "\n".join(lines)
