"""Command line for data scientists: `python -m training.cli train|evaluate|promote|generate`."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

from models.dataset_schema import SchemaError
from models.settings import settings_or_exit
from training.config import TrainSettings
from training.data import DataError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train, evaluate, log and register a model")
    p_train.add_argument("--data", help="CSV or Parquet file (default: synthetic data)")
    p_train.add_argument("--schema", help="dataset schema YAML for --data")
    p_train.add_argument("--summary", help="also write the JSON summary here")
    p_train.add_argument("--promote", action="store_true",
                         help="then run the promotion gates in the same process (a refusal "
                              "is reported, not an error: the current champion keeps serving)")
    p_eval = sub.add_parser("evaluate", help="evaluate a registered model on other data")
    p_eval.add_argument("--model", required=True, help="e.g. models:/churn@champion")
    p_eval.add_argument("--data")
    p_eval.add_argument("--schema")
    p_promote = sub.add_parser("promote", help="move @champion to @challenger if the gates pass")
    p_promote.add_argument("--reviewed", default=None,
                           help="the service's reviewed cases (python -m serving.cli "
                           "export-reviewed): scored by the challenger beside the champion")
    p_promote.add_argument("--allow-new-contract", action="store_true",
                           help="promote even if the data set or features differ from the "
                                "champion's")
    sub.add_parser("champion", help="print the @champion version; exit 1 when there is none")
    p_nested = sub.add_parser("nested", help="nested cross-validation of the selection "
                                             "(honest AUC, spread of the kept set); slow")
    p_nested.add_argument("--data")
    p_nested.add_argument("--schema")
    p_nested.add_argument("--out", help="also write the JSON report here")
    p_cmp = sub.add_parser("compare", help="evaluate @challenger and @champion on the same "
                           "data, side by side (make retrain's last step)")
    p_cmp.add_argument("--data", required=True)
    p_cmp.add_argument("--schema", required=True)
    p_gen = sub.add_parser("generate", help="write a synthetic customer base")
    p_gen.add_argument("--rows", type=int, default=100_000)
    p_gen.add_argument("--seed", type=int, default=1)
    p_gen.add_argument("--out", required=True, help=".csv or .parquet path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("mlflow").setLevel(logging.WARNING)

    if args.command == "generate":
        from training.synthetic import generate

        frame = generate(args.rows, args.seed)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".parquet":
            # row groups are the partitions batch scoring reads in parallel
            frame.to_parquet(out, index=False, row_group_size=50_000)
        else:
            frame.to_csv(out, index=False)
        print(f"wrote {len(frame)} synthetic customers to {out}")
        return 0

    settings = settings_or_exit(TrainSettings)
    if args.command == "champion":
        store = settings.tracking_uri.removeprefix("sqlite:///")
        if store != settings.tracking_uri and not Path(store).exists():
            # no local store yet (a fresh clone): no champion, and no need to create it here
            print(f"no tracking store at {store}", file=sys.stderr)
            return 1
        from training.registry import CHAMPION, setup_tracking, version_by_alias

        setup_tracking(settings)
        version = version_by_alias(settings.model_name, CHAMPION)
        if version is None:
            print(f"no @{CHAMPION} for model {settings.model_name!r}", file=sys.stderr)
            return 1
        print(f"{settings.model_name} v{version.version}")
        return 0
    try:
        if args.command == "train":
            from training.pipeline import train

            result = train(settings, args.data, args.schema, args.summary)
            s = result.summary
            m = s["metrics"]
            print(f"run {result.run_id}: registered {result.model_name} v{result.model_version} "
                  f"as @challenger")
            print(f"  features {len(s['selected_features'])}/{len(s['candidate_features'])} kept: "
                  f"{', '.join(s['selected_features'])}")
            if s.get("dropped_constant"):
                from training.pipeline import constant_text

                print("  dropped as constant (no information): "
                      f"{constant_text(s['dropped_constant'])}")
            if "honest_roc_auc" in m:
                print(f"  honest ROC-AUC {m['honest_roc_auc']:.4f} "
                      f"[{m['honest_roc_auc_lo']:.4f}, {m['honest_roc_auc_hi']:.4f}] on "
                      f"{s['honest']['rows']} held-out rows selection never saw; logistic "
                      f"baseline {m['honest_baseline_logreg_roc_auc']:.4f}")
            print(f"  selection-time out-of-fold ROC-AUC {m['roc_auc']:.4f} (optimistic), "
                  f"PR-AUC {m['pr_auc']:.4f}, Brier {m['brier']:.4f}, ECE {m['ece']:.4f}, "
                  f"log-loss {m['log_loss']:.4f}, "
                  f"contact fraction {m['profit_optimal_fraction']:.1%}")
            print(f"  MPC {m['mpc']:.2f} / EMPC {m['empc']:.2f} per customer")
            if math.isnan(m.get("max_equalized_odds_difference", 0.0)):
                # NaN: sensitive attributes named, but every group too small to compare
                print("  fairness: not measured (no sensitive attribute has two groups with "
                      f"CHURN_FAIRNESS_MIN_GROUP={settings.fairness_min_group} churners and "
                      "stayers each); the fairness gate refuses such a model")
            elif "max_equalized_odds_difference" in m:
                print(f"  max equalized-odds difference {m['max_equalized_odds_difference']:.4f}"
                      f" (95 % upper end {m['max_equalized_odds_upper_95']:.4f})")
            else:
                print("  fairness: not audited (the schema names no sensitive attribute)")
            print(f"  summary: {settings.reports_dir / 'last_run.json'} "
                  f"({s['training_seconds']} s)")
            if args.promote:
                from training.registry import promote

                gate = promote(settings)
                print(gate.report())
                if not gate.promoted:
                    print("promotion refused: the current champion keeps serving")
        elif args.command == "evaluate":
            from training.pipeline import evaluate

            summary = evaluate(settings, args.model, args.data, args.schema)
            print(json.dumps({"run_id": summary["run_id"], "model_uri": summary["model_uri"],
                              "split": summary["evaluation"]["split"],
                              "metrics": summary["metrics"],
                              "fairness": summary["fairness"]}, indent=2))
        elif args.command == "compare":
            from training.compare import compare, table

            print(table(compare(settings, args.data, args.schema)))
        elif args.command == "nested":
            from training.nested import nested_selection

            report = nested_selection(settings, args.data, args.schema)
            text = json.dumps(report, indent=2)
            if args.out:
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                Path(args.out).write_text(text, encoding="utf-8")
            print(text)
        elif args.command == "promote":
            from training.registry import PromotionError, promote

            try:
                result = promote(settings, args.allow_new_contract or None,
                                 reviewed=args.reviewed)
            except PromotionError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(result.report())
            return 0 if result.promoted else 1
    except (DataError, SchemaError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
