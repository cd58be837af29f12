"""Recourse cost (issue 16): milliseconds per customer of the exact search, and how often no
option exists, on Telco. Writes the "recourse" key of bench/results.json.

    python -m bench.recourse [--rows 1000] [--all-features]

The model is fitted by the training pipeline with the default settings (minimised
features, as `make train` on Telco would register it; `--all-features` keeps every
candidate, so every lever the schema marks is in the model). Each customer is searched
with `models.recourse.Planner`, as the API does, against the model's high threshold; the
time of each search is measured alone (perf_counter), the model's levers and thresholds
being read once beforehand (`setup_ms`, as once per served model version).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TELCO_CSV = REPO.parent / "shared" / "data" / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
TELCO_SCHEMA = REPO / "training" / "datasets" / "telco.yaml"
RESULTS = REPO / "bench" / "results.json"


def _records(names: list[str], rows: int, seed: int) -> list[dict[str, Any]]:
    frame = pd.read_csv(TELCO_CSV)
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"].str.strip(), errors="coerce")
    frame = frame.sample(n=min(rows, len(frame)), random_state=seed)
    out = []
    for r in frame.to_dict(orient="records"):
        out.append({k: (None if isinstance(r[k], float) and math.isnan(r[k]) else
                        (r[k].item() if hasattr(r[k], "item") else r[k])) for k in names})
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    if a.size == 0:
        return {}
    return {"median": round(float(np.median(a)), 3), "p95": round(float(np.percentile(a, 95)), 3),
            "max": round(float(a.max()), 3), "mean": round(float(a.mean()), 3)}


def measure(rows: int = 1000, all_features: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fit on Telco, search `rows` customers, return the figures."""
    from models.recourse import Planner
    from training.config import TrainSettings
    from training.pipeline import fit

    tmp = REPO / "bench" / "out" / "recourse"
    tmp.mkdir(parents=True, exist_ok=True)
    settings = TrainSettings(tracking_uri=f"sqlite:///{tmp}/mlflow.db",
                             artifact_root=tmp / "art", reports_dir=tmp / "rep",
                             minimise=not all_features)
    started = time.perf_counter()
    model = fit(settings, TELCO_CSV, TELCO_SCHEMA).model
    fit_s = time.perf_counter() - started
    assert model.spec is not None
    target = model.spec.decision.high_threshold
    t0 = time.perf_counter()
    planner = Planner(model)
    setup_ms = (time.perf_counter() - t0) * 1000
    records = _records(model.feature_names, rows, seed)
    planner.search(records[0], target)  # warm caches (first LightGBM call)
    statuses: Counter = Counter()
    every, high, candidates, options = [], [], [], []
    first_size: Counter = Counter()  # features the first (smallest) option changes
    used: Counter = Counter()  # how often each lever appears in an option
    for record in records:
        t = time.perf_counter()
        found = planner.search(record, target)
        ms = (time.perf_counter() - t) * 1000
        every.append(ms)
        statuses[found.status] += 1
        if found.status != "already_below":
            high.append(ms)
            candidates.append(found.candidates)
            options.append(len(found.options))
            if found.options:
                first_size[len(found.options[0].changes)] += 1
            for o in found.options:
                used.update(c.feature for c in o.changes)
    n_high = len(high)
    no_option = statuses["none"] + statuses["lowers_only"]
    return {
        "data": "telco", "customers": len(records),
        "model": "default settings (minimised)" if not all_features else "every candidate kept",
        "features": model.feature_names,
        "levers": [lv.feature.name for lv in planner.levers],
        "high_threshold": round(target, 6),
        "max_changes": planner.max_changes, "budget": planner.budget,
        "fit_seconds": round(fit_s, 1), "setup_ms": round(setup_ms, 2),
        "ms_per_customer": _stats(every),
        "ms_per_high_risk_customer": _stats(high),
        "high_risk_customers": n_high,
        "statuses": dict(statuses),
        "share_high_risk_without_option_below_band": round(no_option / n_high, 4)
        if n_high else None,
        "share_high_risk_nothing_lowers": round(statuses["none"] / n_high, 4) if n_high else None,
        "candidates_per_high_risk_customer": _stats([float(c) for c in candidates]),
        "options_per_high_risk_customer": round(float(np.mean(options)), 2) if options else None,
        "first_option_features_changed": {str(k): v for k, v in sorted(first_size.items())},
        "lever_use_in_options": dict(used.most_common()),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--all-features", action="store_true",
                        help="also measure a model keeping every candidate feature")
    args = parser.parse_args(argv)
    if not TELCO_CSV.is_file():
        print(f"the Telco file is needed: {TELCO_CSV}", file=sys.stderr)
        return 2
    out = {"default": measure(args.rows)}
    if args.all_features:
        out["all_features"] = measure(args.rows, all_features=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["recourse"] = out
    RESULTS.write_text(json.dumps(results, indent=2))
    for name, r in out.items():
        print(f"recourse ({name}: {r['model']}; levers {', '.join(r['levers'])}): "
              f"{r['customers']} Telco customers, {r['high_risk_customers']} high-risk; "
              f"ms per customer median {r['ms_per_customer']['median']}, "
              f"p95 {r['ms_per_customer']['p95']}; per high-risk customer median "
              f"{r['ms_per_high_risk_customer'].get('median')}, p95 "
              f"{r['ms_per_high_risk_customer'].get('p95')}; high-risk without an option "
              f"below the band {r['share_high_risk_without_option_below_band']}, nothing "
              f"lowers {r['share_high_risk_nothing_lowers']}")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
