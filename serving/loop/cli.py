"""The loop's commands (`python -m serving.cli outcomes|contact-effect|export-training`)."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import sys

from serving.config import Settings

COMMANDS = ("outcomes", "contact-effect", "export-training")
EFFECT_EXPERIMENT = "churn-contact-effect"
BREAKDOWNS = ("period", "risk_band", "model_version", "task_outcome")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the loop's subcommands to the serving CLI."""
    p = sub.add_parser(
        "outcomes", help="record churn events from a CSV (customer id and the day they "
        "left): unknown or erased customers, future dates and repeats reported by row")
    p.add_argument("--data", required=True, help="CSV with columns customer_id,left_on")
    p.add_argument("--id-column", help="the customer id column (default: customer_id, "
                   "customerID or customer)")
    p.add_argument("--date-column", help="the date column (default: left_on, churn_date "
                   "or date)")
    p = sub.add_parser(
        "contact-effect", help="churn of the customers assigned to contact against the "
        "control group (intention to treat, 95 %% interval), overall and broken down")
    p.add_argument("--by", action="append", default=None,
                   help="a breakdown (repeatable): period, risk_band, model_version, "
                   "task_outcome or a feature name (default: all but features)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--mlflow", action="store_true",
                   help="also log the figures as an MLflow run (experiment "
                   "churn-contact-effect)")
    p = sub.add_parser(
        "export-training", help="write the training table from this database (Parquet and "
        "a dataset schema make train accepts): latest usable features per customer, "
        "rectified values, observed labels, arm; restricted, objecting and erased left out")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--recent-fraction", type=float, default=0.2,
                   help="share of the labelled customers, most recently scored, written "
                   "apart (recent.parquet) to compare challenger and champion (default 0.2)")


def _rate(v: float) -> str:
    return "  n/a" if math.isnan(v) else f"{v:.1%}"


def _fmt(x: float) -> str:
    return "   n/a" if math.isnan(x) else f"{x:+.3f}" if x < 0 or x > 0 else " 0.000"


def effect_table(rows: list, fraction: float) -> str:
    """The contact-effect report as text."""
    lines = []
    if fraction == 0:
        lines.append("CHURN_CONTROL_FRACTION is 0: no customer is held out now, so no new "
                     "evidence on whether contact helps is being collected.")
    if not rows:
        lines.append("No labelled customer with an arm yet: a prediction is labelled once its "
                     "customer left or the label horizon has passed.")
        return "\n".join(lines)
    from serving.loop.effect import METHOD

    lines.append(f"Churn when assigned to contact minus churn when held out (intention to "
                 f"treat; {METHOD}); negative: contact helps")
    head = (f"{'by':<14} {'segment':<18} {'contact n':>9} {'churn':>7} {'control n':>9} "
            f"{'churn':>7} {'difference':>10} {'95 % interval':>18}")
    lines += [head, "-" * len(head)]
    for r in rows:
        note = "" if r.randomised else "  (not randomised)"
        lines.append(
            f"{r.by:<14} {r.segment[:18]:<18} {r.n_contact:>9} {_rate(r.rate_contact):>7} "
            f"{r.n_control:>9} {_rate(r.rate_control):>7} {_fmt(r.difference):>10} "
            f"[{_fmt(r.lower)}, {_fmt(r.upper)}]{note}")
    return "\n".join(lines)


def log_effect_run(settings: Settings, rows: list, horizon: int) -> str:
    """One MLflow run (experiment `churn-contact-effect`) with the figures; its id."""
    import mlflow

    from models.tracking import use_experiment
    from serving.loop.effect import METHOD

    experiment = use_experiment(settings.tracking_uri, EFFECT_EXPERIMENT,
                                settings.artifact_root)
    with mlflow.start_run(experiment_id=experiment, run_name="contact-effect") as run:
        mlflow.log_params({"control_fraction": settings.control_fraction,
                           "label_horizon_days": horizon,
                           "campaign_period": settings.campaign_period,
                           "targeting": settings.targeting, "method": METHOD,
                           "unit": "customer and campaign period, first assignment"})
        for r in rows:
            key = "all" if r.by == "all" else f"{r.by}.{r.segment}"
            key = "".join(c if c.isalnum() or c in "._-/" else "_" for c in key)
            mlflow.log_metrics({f"{key}.n_contact": r.n_contact,
                                f"{key}.n_control": r.n_control,
                                **({f"{key}.difference": r.difference,
                                    f"{key}.lower": r.lower, f"{key}.upper": r.upper}
                                   if not math.isnan(r.difference) else {})})
        mlflow.log_dict({"rows": [r.as_dict() for r in rows]}, "contact_effect.json")
        return run.info.run_id


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one of the loop's commands."""
    from serving.storage import Database, upgrade

    db = Database(settings.database_url)
    if settings.migrate_on_start:
        upgrade(db.engine)
    try:
        if args.command == "outcomes":
            from serving.loop.service import OutcomesFileError, record_file

            try:
                with db.session() as session:
                    counts, _ = record_file(session, settings, args.data,
                                            f"cli:{getpass.getuser()}", args.id_column,
                                            args.date_column)
            except OutcomesFileError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(json.dumps(counts.as_dict(), indent=2))
            for p in counts.rejected[:20]:
                from serving.loop.outcomes import PROBLEMS

                print(f"row {p.row}, column {p.field}: {p.problem}: {PROBLEMS[p.problem]}")
            if len(counts.rejected) > 20:
                print(f"... and {len(counts.rejected) - 20} more rows not recorded")
            return 0
        if args.command == "contact-effect":
            from serving.loop.effect import contact_effect
            from serving.loop.outcomes import labelled_predictions

            with db.session() as session:
                df = labelled_predictions(session, settings.label_horizon_days,
                                          period=settings.campaign_period)
            rows = contact_effect(df)
            for by in args.by or BREAKDOWNS:
                rows += contact_effect(df, by=by)
            if args.json:
                print(json.dumps([r.as_dict() for r in rows], indent=2, default=str))
            else:
                print(effect_table(rows, settings.control_fraction))
            if args.mlflow:
                run_id = log_effect_run(settings, rows, settings.label_horizon_days)
                print(f"logged MLflow run {run_id} (experiment churn-contact-effect)")
            return 0
        if args.command == "export-training":
            from serving.loop.export import ExportError, export_training

            try:
                with db.session() as session:
                    report = export_training(session, args.out, settings.label_horizon_days,
                                             recent_fraction=args.recent_fraction,
                                             period=settings.campaign_period)
            except ExportError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(json.dumps(report.as_dict(), indent=2))
            return 0
    finally:
        db.dispose()
    return 2
