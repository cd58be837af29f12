"""`make simulate MONTHS=6`: the whole loop, month by month, in a simulated world.

1. A churn model is trained on the synthetic generator's data and promoted (MLflow store
   in the work directory), exactly as `make train PROMOTE=1` does.
2. Each month (a calendar month; the label horizon is set to 30 days, one month):
   the base is written to a Parquet file and batch-scored through the real batch path
   (`serving.batch.score_file`) into a real database (SQLite in the work directory, or
   `CHURN_DATABASE_URL`), which draws the control group and opens the retention tasks;
   simulated agents list, claim and complete the tasks through the retention service;
   the world (`simulation.world`) decides who leaves, and the departures are recorded as
   churn events through the service (`serving.loop.outcomes.record_churn_events`);
   monitoring (realised quality, fairness), drift and the contact effect are computed from
   the database; once both arms have enough labels an uplift model is trained
   (`training.uplift`) on the labelled, randomised predictions.
3. With an uplift model, the next month's base is scored twice through the real batch path,
   once under risk targeting and once under uplift targeting (`CHURN_TARGETING=uplift`),
   each queue read in its default order through the retention service, and the world's
   truth says how many customers each queue's calls keep (`compare_targeting`): retained
   customers per 100 calls, the whole queue and the same number of calls from the top.
4. It prints what a team would see each month and writes plots (PNG) and a JSON summary to
   the work directory.

Training and serving are both imported here (like `bench/`), never each other.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import pseudonymise
from serving.auth.principal import Principal
from serving.batch import score_file
from serving.config import Settings
from serving.loop import drift as drift_mod
from serving.loop import monitoring
from serving.loop.effect import contact_effect
from serving.loop.outcomes import labelled_predictions, pseudonymised, record_churn_events
from serving.modelhost import ModelHost
from serving.retention import service as retention
from serving.retention.schemas import CompleteRequest
from serving.specs import SpecCache
from serving.storage import Database, upgrade
from serving.storage import monitoring as reads
from simulation.world import SENSITIVE, World, WorldConfig, segment_of
from training import synthetic
from training.config import TrainSettings

log = logging.getLogger("simulation")

SCHEMA = synthetic.SCHEMA_PATH
HORIZON_DAYS = 30


@dataclass
class SimConfig:
    """The simulation's size and knobs (defaults: `make simulate`)."""

    months: int = 6
    customers: int = 3_000
    training_rows: int = 10_000
    seed: int = 7
    control_fraction: float = 0.3  # larger than the service default, to learn faster
    reach: float = 0.8
    drift_month: int | None = 4
    drift_factor: float = 3.0
    agents: int = 5
    minimise: bool = True
    n_estimators: int = 300
    uplift_min_per_arm: int = 100
    compare: bool = True  # score the next month under both targeting rules (needs uplift)
    psi_warn: float = 0.1
    psi_alert: float = 0.25
    work: Path = Path("var/simulation")
    database_url: str | None = None
    plots: bool = True


@dataclass
class MonthReport:
    month: int
    period: str
    scored: int
    high: int
    tasks_opened: int
    contact_arm: int
    control_arm: int
    reached: int
    left: int
    churn_rate: float
    true_effect_mean: float  # the world's ITT effect, averaged over this month's arm-drawn
    drift_status: str
    drift_flagged: list[str]
    drift_psi: dict[str, float]
    score_mean: float


@dataclass
class SimResult:
    config: SimConfig
    model_version: str
    oof_roc_auc: float
    months: list[MonthReport] = field(default_factory=list)
    quality: list[dict[str, Any]] = field(default_factory=list)
    effect: list[dict[str, Any]] = field(default_factory=list)
    effect_by_segment: list[dict[str, Any]] = field(default_factory=list)
    true_effect: float = math.nan  # over every labelled arm-drawn customer-month
    true_effect_by_segment: dict[str, float] = field(default_factory=dict)
    uplift: dict[str, Any] | None = None
    # risk vs uplift targeting on the same base, by the world's truth (`compare_targeting`)
    targeting: dict[str, Any] | None = None
    fairness: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    database_url: str = ""
    tracking_uri: str = ""
    uplift_table: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("config", "months")}
        out["config"] = {k: str(v) if isinstance(v, Path) else v
                         for k, v in self.config.__dict__.items()}
        out["months"] = [m.__dict__ for m in self.months]
        return out


def month_start(first: date, k: int) -> date:
    """The first day of the `k`-th month (0-based) from `first`."""
    y, m = divmod(first.month - 1 + k, 12)
    return date(first.year + y, m + 1, 1)


def first_month(months: int, today: date | None = None) -> date:
    """The simulation's first month: `months` whole months ending before this one, so
    every simulated date is in the past."""
    today = today or datetime.now(UTC).date()
    y, m = divmod(today.month - 1 - months, 12)
    return date(today.year + y, m + 1, 1)


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def train_model(cfg: SimConfig, tracking_uri: str) -> tuple[str, float]:
    """Train and promote the churn model the service will serve; (version, OOF AUC)."""
    from training.pipeline import train
    from training.registry import promote

    settings = train_settings(cfg, tracking_uri)
    result = train(settings)
    gate = promote(settings)
    if not gate.promoted:
        raise RuntimeError("the simulation's model did not pass the gates:\n" + gate.report())
    return str(result.model_version), float(result.summary["metrics"]["roc_auc"])


def train_settings(cfg: SimConfig, tracking_uri: str) -> TrainSettings:
    return TrainSettings(tracking_uri=tracking_uri, artifact_root=cfg.work / "mlartifacts",
                         reports_dir=cfg.work / "reports", synthetic_rows=cfg.training_rows,
                         minimise=cfg.minimise, n_estimators=cfg.n_estimators,
                         seed=cfg.seed, uplift_min_per_arm=cfg.uplift_min_per_arm)


class Agents:
    """Simulated retention agents working the queue through the retention service."""

    def __init__(self, n: int, reach: float, rng: np.random.Generator) -> None:
        self.people = [Principal(kind="staff", role="agent", actor=f"staff:sim-agent-{i + 1}")
                       for i in range(n)]
        self.reach = reach
        self.rng = rng

    def work(self, db: Database, specs: SpecCache) -> set[str]:
        """Claim and complete every open task; returns the raw ids of customers reached."""
        reached: set[str] = set()
        n = 0
        while True:
            with db.session() as session:
                page = retention.list_tasks(session, specs, status="open", limit=200,
                                            reader=self.people[0], via="simulation")
                if not page.items:
                    return reached
                for task in page.items:
                    agent = self.people[n % len(self.people)]
                    n += 1
                    retention.claim(session, specs, task.task_id, agent)
                    if self.rng.random() < self.reach:
                        reached.add(str(task.customer_id))
                        outcome = "retained" if self.rng.random() < 0.6 else "declined"
                    else:
                        outcome = "no_contact"
                    retention.complete(session, specs, task.task_id,
                                       CompleteRequest(outcome=outcome), agent)


def serving_settings(cfg: SimConfig, tracking_uri: str) -> Settings:
    url = cfg.database_url or f"sqlite:///{(cfg.work / 'service.db').resolve()}"
    return Settings(database_url=url, tracking_uri=tracking_uri,
                    model_uri="models:/churn@champion", control_fraction=cfg.control_fraction,
                    label_horizon_days=HORIZON_DAYS, campaign_period="month",
                    delivery_worker=False, purge_after_batch=False)


def uplift_table(labelled: pd.DataFrame) -> pd.DataFrame:
    """The uplift training table: each labelled, randomised prediction's features, arm,
    label and customer (what `make retrain`'s export carries)."""
    drawn = labelled[labelled["arm"].isin(["contact", "control"]) & labelled["label"].notna()]
    if drawn.empty:
        return pd.DataFrame()
    feats = pd.DataFrame.from_records(list(drawn["features"]), index=drawn.index)
    return pd.concat([feats, drawn[["customer_ref", "arm", "label"]]], axis=1
                     ).reset_index(drop=True)


def simulate(cfg: SimConfig, out=print) -> SimResult:  # noqa: ANN001, C901
    """Run the loop for `cfg.months` months; returns what was measured."""
    started = time.perf_counter()
    cfg.work.mkdir(parents=True, exist_ok=True)
    tracking_uri = f"sqlite:///{(cfg.work / 'mlflow.db').resolve()}"
    out(f"training the churn model on {cfg.training_rows} synthetic customers ...")
    version, oof_auc = train_model(cfg, tracking_uri)
    out(f"  churn v{version} promoted; out-of-fold ROC-AUC {oof_auc:.3f}")
    settings = serving_settings(cfg, tracking_uri)
    db = Database(settings.database_url)
    upgrade(db.engine)
    host = ModelHost(settings)
    host.load()
    specs = SpecCache()
    world = World(WorldConfig(customers=cfg.customers, seed=cfg.seed, reach=cfg.reach,
                              drift_period=cfg.drift_month, drift_factor=cfg.drift_factor))
    agents = Agents(cfg.agents, cfg.reach, np.random.default_rng([cfg.seed, 5]))
    secret = settings.pseudonym_secret
    integration = Principal(kind="staff", role="integration", actor="staff:sim-billing")
    result = SimResult(config=cfg, model_version=version, oof_roc_auc=oof_auc,
                       database_url=settings.database_url, tracking_uri=tracking_uri)
    first = first_month(cfg.months)
    truth: list[pd.DataFrame] = []  # per arm-drawn customer-month: the world's true effect
    attributes: list[pd.DataFrame] = []
    labelled = pd.DataFrame()
    for k in range(cfg.months):
        m = k + 1
        start = month_start(first, k)
        end = month_start(first, k + 1) - timedelta(days=1)
        if k:
            world.advance()
        frame = world.scoring_frame()
        path = cfg.work / f"base_{start:%Y_%m}.parquet"
        frame.to_parquet(path, index=False)
        report = score_file(settings, path, SCHEMA, db=db, host=host, as_of=at_noon(start))
        path.unlink()
        ref_of = {pseudonymise(cid, secret): cid for cid in frame["customer_id"]}
        attributes.append(world.attributes())
        with db.session() as session:
            rows = reads.scored(session, since=at_noon(start), with_features=False)
            runs = drift_mod.batch_drift(session, specs, warn=cfg.psi_warn,
                                         alert=cfg.psi_alert, since=at_noon(start))
        this = pd.DataFrame(rows)
        drawn = this[this["arm"].isin(["contact", "control"])]
        ids = [ref_of[r] for r in drawn["customer_ref"]]
        effects = world.true_effect(ids)
        segs = world.segments(ids)
        truth.append(pd.DataFrame({"customer_ref": drawn["customer_ref"].to_numpy(),
                                   "period": f"{start:%Y-%m}",
                                   "true_effect": effects,
                                   "segment": [segs[i] for i in ids]}))
        t0 = time.perf_counter()
        reached = agents.work(db, specs)
        log.info("agents worked %d tasks in %.1f s", report.human_contact,
                 time.perf_counter() - t0)
        world.mark_contacted(reached)
        gone = world.departures()
        events = pseudonymised(
            [(cid, start + timedelta(days=int(d)))
             for cid, d in zip(gone["customer_id"], gone["_day"], strict=True)], secret)
        with db.session() as session:
            record_churn_events(session, events, integration, source="simulation",
                                today=end)
        run = runs[-1] if runs else None
        psi = {c.column: round(c.psi, 4) for c in run.columns} if run else {}
        month = MonthReport(
            month=m, period=f"{start:%Y-%m}", scored=report.scored, high=report.high,
            tasks_opened=report.human_contact,
            contact_arm=int((drawn["arm"] == "contact").sum()),
            control_arm=int((drawn["arm"] == "control").sum()), reached=len(reached),
            left=len(gone), churn_rate=len(gone) / max(report.scored, 1),
            true_effect_mean=float(np.mean(effects)) if len(effects) else math.nan,
            drift_status=run.status if run else "unknown",
            drift_flagged=run.flagged("alert") if run else [], drift_psi=psi,
            score_mean=float(this["score"].mean()) if len(this) else math.nan)
        result.months.append(month)
        # labels as they stand once this month's horizon has passed (every departure of
        # the month is recorded by then)
        with db.session() as session:
            labelled = labelled_predictions(
                session, HORIZON_DAYS, now=at_noon(start + timedelta(days=HORIZON_DAYS + 1)))
        quality = [q for q in monitoring.realised_quality(labelled)
                   if q.month == f"{start:%Y-%m}"]
        effect = contact_effect(labelled)
        _print_month(out, month, quality, effect)
        if month.drift_flagged:
            out(f"  ALERT drift: {', '.join(month.drift_flagged)} (PSI >= {cfg.psi_alert})")
    # the whole run
    result.quality = [q.as_dict() for q in monitoring.realised_quality(labelled)]
    result.effect = [e.as_dict() for e in contact_effect(labelled)]
    truth_all = pd.concat(truth, ignore_index=True)
    units = labelled[labelled["arm"].isin(["contact", "control"]) & labelled["label"].notna()]
    units = units.merge(truth_all, on=["customer_ref", "period"], how="inner")
    result.true_effect = float(units["true_effect"].mean()) if len(units) else math.nan
    result.true_effect_by_segment = {
        str(s): float(g["true_effect"].mean()) for s, g in units.groupby("segment")}
    labelled_seg = labelled.merge(truth_all[["customer_ref", "period", "segment"]],
                                  on=["customer_ref", "period"], how="left")
    result.effect_by_segment = [e.as_dict() for e in contact_effect(labelled_seg, by="segment")]
    # the sensitive attributes, kept apart for the fairness audit (CHURN_AUDIT_ATTRIBUTES)
    raw = pd.concat(attributes, ignore_index=True).drop_duplicates("customer_id")
    raw.to_parquet(cfg.work / "audit_attributes.parquet", index=False)
    attrs_all = raw.assign(customer_ref=[pseudonymise(c, secret) for c in raw["customer_id"]]
                           ).drop(columns=["customer_id"])
    result.fairness = [
        {"month": f.month, "attribute": f.attribute, "equalized_odds": f.equalized_odds,
         "groups": [g.__dict__ for g in f.groups]}
        for f in monitoring.fairness_over_time(labelled, attrs_all, SENSITIVE)]
    table = uplift_table(labelled)
    table_path = cfg.work / "uplift_table.parquet"
    if len(table):
        table.to_parquet(table_path, index=False)
        result.uplift_table = str(table_path)
    result.uplift = _train_uplift(cfg, tracking_uri, table, out)
    if cfg.compare and result.uplift is not None:
        world.advance()
        result.targeting = compare_targeting(
            cfg, settings, host, world, result.uplift["model_version"],
            at_noon(month_start(first, cfg.months)))
        result.targeting["uplift_model_promoted"] = result.uplift["promoted"]
        _print_comparison(out, result.targeting)
    result.seconds = round(time.perf_counter() - started, 1)
    _print_summary(out, result)
    (cfg.work / "summary.json").write_text(json.dumps(result.as_dict(), indent=2,
                                                      default=str), encoding="utf-8")
    if cfg.plots:
        from simulation.plots import write_plots

        for p in write_plots(result, labelled, cfg.work):
            out(f"  plot: {p}")
    db.dispose()
    return result


def _train_uplift(cfg: SimConfig, tracking_uri: str, table: pd.DataFrame,
                  out) -> dict[str, Any] | None:  # noqa: ANN001
    from training.uplift import UpliftDataError, train_uplift

    if table.empty:
        out("uplift: no randomised, labelled predictions yet")
        return None
    try:
        res = train_uplift(train_settings(cfg, tracking_uri), table, source="simulation")
    except UpliftDataError as exc:
        out(f"uplift: not trained yet: {exc}")
        return None
    out(res.report())
    return {"model_version": res.model_version, "promoted": res.promoted, "gate": res.gate,
            "metrics": res.metrics}


def _queue(db: Database, specs: SpecCache, sort: str) -> list[str]:
    """The open tasks' customers in the queue's order `sort`, read as agents read it."""
    reader = Principal(kind="staff", role="agent", actor="staff:sim-compare")
    refs: list[str] = []
    cursor = None
    while True:
        with db.session() as session:
            page = retention.list_tasks(session, specs, status="open", limit=500,
                                        cursor=cursor, reader=reader, via="simulation",
                                        sort=sort)
        refs += [t.customer_ref for t in page.items]
        cursor = page.next_cursor
        if not cursor:
            return refs


def compare_targeting(cfg: SimConfig, settings: Settings, host: ModelHost, world: World,
                      uplift_version: str, as_of: datetime) -> dict[str, Any]:
    """Score the world's current base under risk and under uplift targeting (the uplift
    model `uplift_version`), each in a database of its own through the real batch path,
    read each queue in its default order, and count with the world's truth the customers
    its calls keep: the true intention-to-treat effect of each queued customer (`World.
    true_effect`, negative when contact keeps them), summed. Per 100 calls for the whole
    queue, and for the same number of calls from the top of both queues."""
    from serving.loop.targeting import NOT_WORTH

    frame = world.scoring_frame()
    path = cfg.work / "compare_base.parquet"
    frame.to_parquet(path, index=False)
    ref_of = {pseudonymise(cid, settings.pseudonym_secret): cid for cid in frame["customer_id"]}
    specs = SpecCache()
    queues: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    for rule in ("risk", "uplift"):
        db_path = cfg.work / f"compare_{rule}.db"
        db_path.unlink(missing_ok=True)
        s = settings.model_copy(update={
            "targeting": rule, "database_url": f"sqlite:///{db_path.resolve()}",
            "uplift_model_uri": f"models:/churn-uplift/{uplift_version}"})
        db = Database(s.database_url)
        t0 = time.perf_counter()
        report = score_file(s, path, SCHEMA, db=db, host=host, as_of=as_of)
        seconds[rule] = round(time.perf_counter() - t0, 2)
        if report.targeting != rule:
            raise RuntimeError(f"the {rule} run applied {report.targeting}")
        queues[rule] = _queue(db, specs, retention.default_sort(rule == "uplift"))
        if rule == "uplift":
            with db.session() as session:
                rows = reads.scored(session, with_features=False)
            not_worth = sum(1 for r in rows if r["route_reason"] == NOT_WORTH.reason)
        db.dispose()
    path.unlink()
    kept = {ref: -float(e) for ref, e in zip(
        ref_of, world.true_effect(list(ref_of.values())), strict=True)}

    def per_100(refs: list[str]) -> float:
        return 100.0 * sum(kept[r] for r in refs) / len(refs) if refs else math.nan

    same = min(len(queues["risk"]), len(queues["uplift"]))
    # the ceiling: the same number of calls to the risk queue's customers whom contact
    # truly keeps most (what a perfect uplift model would pick among them)
    best = sorted(queues["risk"], key=lambda r: -kept[r])[:same]
    out: dict[str, Any] = {"customers": len(frame), "same_calls": same,
                           "not_worth_a_call": not_worth, "batch_seconds": seconds,
                           "best_per_100_top_calls": round(per_100(best), 2)}
    for rule, refs in queues.items():
        out[rule] = {"calls": len(refs), "retained": round(sum(kept[r] for r in refs), 2),
                     "per_100_calls": round(per_100(refs), 2),
                     "per_100_top_calls": round(per_100(refs[:same]), 2),
                     "pushed_away_called": sum(1 for r in refs if kept[r] < 0)}
    return out


def _print_comparison(out, c: dict[str, Any]) -> None:  # noqa: ANN001
    promoted = ("promoted" if c.get("uplift_model_promoted")
                else "not promoted (its gate failed), compared all the same")
    out(f"queue ranking on the next month's base ({c['customers']} customers), by the "
        f"world's truth (customers kept by the calls); the uplift model is {promoted}:")
    for rule in ("risk", "uplift"):
        r = c[rule]
        out(f"  {rule} targeting: {r['calls']} calls, {r['retained']:.1f} customers kept, "
            f"{r['per_100_calls']:.1f} per 100 calls; top {c['same_calls']} calls: "
            f"{r['per_100_top_calls']:.1f} per 100; {r['pushed_away_called']} called whom "
            "contact pushes away")
    out(f"  (uplift targeting left out {c['not_worth_a_call']} customers not worth a call; "
        f"the best {c['same_calls']} calls among the risk queue's customers, by the truth: "
        f"{c['best_per_100_top_calls']:.1f} per 100)")


def _fmt(x: float, spec: str = ".3f") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


def _print_month(out, m: MonthReport, quality: list, effect: list) -> None:  # noqa: ANN001
    out(f"month {m.month} ({m.period}): scored {m.scored}, high band {m.high}, "
        f"tasks {m.tasks_opened} (contact arm {m.contact_arm}, control {m.control_arm}), "
        f"reached {m.reached}, left {m.left} ({m.churn_rate:.1%}); mean score "
        f"{m.score_mean:.3f}; drift {m.drift_status}, score PSI "
        f"{_fmt(m.drift_psi.get('score', math.nan))}")
    for q in quality:
        out(f"  realised ROC-AUC (control + no-task rows) {_fmt(q.auc)} "
            f"[{_fmt(q.auc_low)}, {_fmt(q.auc_high)}] on {q.evaluated} rows; all rows "
            f"(biased by contact) {_fmt(q.auc_all)}; ECE {_fmt(q.ece)}")
    for e in effect:
        out(f"  contact effect so far (ITT): {e.difference:+.3f} "
            f"[{e.lower:+.3f}, {e.upper:+.3f}] ({e.n_contact} contact, {e.n_control} control)")


def _print_summary(out, r: SimResult) -> None:  # noqa: ANN001
    out("")
    out(f"summary after {len(r.months)} months ({r.seconds:.0f} s)")
    out("  " + monitoring.UNAFFECTED_NOTE)
    for q in r.quality:
        out(f"  v{q['model_version']} {q['month']}: realised ROC-AUC {_fmt(q['auc'])} "
            f"[{_fmt(q['auc_low'])}, {_fmt(q['auc_high'])}] vs out-of-fold "
            f"{r.oof_roc_auc:.3f}; ECE {_fmt(q['ece'])}")
    for e in r.effect:
        out(f"  contact effect (ITT) {e['difference']:+.3f} [{e['lower']:+.3f}, "
            f"{e['upper']:+.3f}]; the world's true effect {r.true_effect:+.3f}")
    for e in r.effect_by_segment:
        true = r.true_effect_by_segment.get(e["segment"], math.nan)
        out(f"    segment {e['segment']}: {e['difference']:+.3f} [{e['lower']:+.3f}, "
            f"{e['upper']:+.3f}] (true {true:+.3f})")
    flagged = [(m.month, m.drift_flagged) for m in r.months if m.drift_flagged]
    out(f"  drift alerts: {flagged or 'none'}")


def main(argv: list[str] | None = None) -> int:
    """`python -m simulation --months 6`."""
    parser = argparse.ArgumentParser(description="Run the closed loop in a simulated world.")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--customers", type=int, default=SimConfig.customers)
    parser.add_argument("--seed", type=int, default=SimConfig.seed)
    parser.add_argument("--drift-month", type=int, default=SimConfig.drift_month,
                        help="the month the drift starts (0: none)")
    parser.add_argument("--control-fraction", type=float, default=SimConfig.control_fraction)
    parser.add_argument("--work", type=Path, default=SimConfig.work)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.months < 1:
        parser.error("--months must be at least 1")
    cfg = SimConfig(months=args.months, customers=args.customers, seed=args.seed,
                    drift_month=args.drift_month or None,
                    control_fraction=args.control_fraction, work=args.work)
    simulate(cfg)
    return 0


__all__ = ["SimConfig", "SimResult", "simulate", "segment_of"]
