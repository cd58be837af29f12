"""Score, explain, route and store: the online path (up to 1,000 records per call)."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy.orm import Session

from models import ModelSpec
from models.explain import contribution_rows, contributions, decoded_json, decoded_values
from models.explanation import Explanation
from models.pseudonym import Pseudonymiser
from models.reasons import Audience
from serving import idempotency
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.config import Settings
from serving.errors import (
    DomainError,
    FieldError,
    InvalidInput,
    NotFound,
    Suppressed,
    TokenWithdrawn,
    model_problems,
)
from serving.loop import control, targeting
from serving.loop.control import ControlPlan
from serving.loop.targeting import UpliftPlan
from serving.modelhost import ServedModel
from serving.retention.tasks import created_events
from serving.routing import (
    OVERTURNED,
    Route,
    Thresholds,
    repeats_overturned,
    risk_band,
    route,
    route_many,
)
from serving.scoring import WRITER_STORE
from serving.scoring.schemas import (
    ContributionPublic,
    ModelRef,
    PredictionPublic,
    RoutePublic,
    ScoreRequest,
    TargetingPublic,
)
from serving.specs import SpecCache
from serving.storage import Database, receipts, staff, writerproc
from serving.storage.group import GroupCommit
from serving.storage.receipts import (
    KeyedReceipt,
    LatestEntry,
    PredictionRow,
    Receipts,
    TaskRow,
    pack_shap,
    unpack_shap,
)
from serving.storage.tables import (
    Prediction,
    new_id,
    new_ids,
)


def _invalid(items: list[ScoreRequest], served: ServedModel) -> list[FieldError]:
    encoder = served.model.encoder
    assert encoder is not None
    batch = len(items) > 1
    return [e for i, item in enumerate(items) for e in model_problems(
        encoder.problems(item.features), ["body", *([i] if batch else []), "features"],
        **({"row": i} if batch else {"row": None}))]


@dataclass(frozen=True)
class WrittenModel:
    """What the write reads of the served model (the model itself stays in the server)."""

    name: str
    version: str
    contract_version: str
    thresholds: Thresholds


@dataclass
class ScoreJob:
    """One request's records, scored and explained, waiting to be stored."""

    served: ServedModel  # a `WrittenModel` in the writer process
    principal: Principal
    refs: list[str]
    external_ids: list[str]
    ex: Explanation
    bands: list[str]
    routes: list[Route]  # as if unrestricted; restriction is only known under the write
    pids: list[str]
    features: list[str]  # JSON of the values read
    shap_blobs: list[bytes]  # each record's contributions as its receipt stores them
    at: datetime
    due_days: int  # a task it opens is due this many days later (Settings.task_due_days)
    # the control-group draw and targeting rule (issue 17); None records rule `risk` only
    control: ControlPlan | None = None
    # CHURN_TARGETING=uplift: the uplift model, the customers' own values (by receipt id)
    # and the uplifts estimated before the write (receipts that may open a task)
    uplift: UpliftPlan | None = None
    values: dict[str, float] | None = None
    estimates: dict[str, float] | None = None
    # sent with an Idempotency-Key: the key scoped to its caller and the body's digest
    # (`serving.idempotency`), kept on each receipt; a repeat answers what they stored
    key: str | None = None
    body_hash: str | None = None
    # let through on the app's memory of the staff token (`serving.auth.known`): its hash,
    # which the write confirms is still active with the principal's role
    token_hash: str | None = None

    def rows(self, at: Any, final: Sequence[Route]) -> list[PredictionRow]:
        """The job's receipts with their final routes, `at` in storage form."""
        ex, name, version = self.ex, self.served.name, self.served.version
        base = float(ex.base_value)
        return [PredictionRow(
            self.pids[n], ref, name, version, float(ex.score[n]), float(ex.margin[n]), base,
            self.bands[n], self.features[n], self.shap_blobs[n], final[n].action,
            final[n].reason, "api", self.principal.actor, final[n] == OVERTURNED, at,
            self.served.contract_version, request_key=self.key, request_hash=self.body_hash,
            request_item=None if self.key is None else n)
            for n, ref in enumerate(self.refs)]


@dataclass
class Stored:
    """What the write decided for one job's records."""

    routes: list[Route]
    task_ids: list[str | None]
    # the receipts as stored (from the writer process: what the answer shows of them)
    rows: list[PredictionRow] | list[Decided] = field(default_factory=list)


@dataclass(frozen=True)
class Replayed:
    """A repeat of a keyed request already stored: its receipts, in the request's order
    (read back and answered as they stand now: `replay`)."""

    prediction_ids: list[str]


ScoreWriter = GroupCommit[ScoreJob, "Stored | Replayed"]


# -- the job and its outcome on the writer process's pipe (`serving.storage.writerproc`) --
# Plain values (marshal): pickling the job's dataclasses, numpy arrays and aware datetime
# cost about 65 microseconds a job on a 2-core machine, a sixth of the server's budget.
def job_wire(job: ScoreJob) -> tuple:
    """What `store` reads of `job`, as plain values (not the model, not the inputs). The
    uplift plan goes without its model: the uplift of every receipt that may open a task
    was estimated by `prepare`."""
    s, p, ex, c, u = job.served, job.principal, job.ex, job.control, job.uplift
    t = s.thresholds
    return (
        (s.name, s.version, s.contract_version, t.high, t.medium, t.review_margin),
        (p.kind, p.role, p.actor, p.user_id, p.customer_ref, p.session_id, p.link_id,
         p.assisted_by),
        job.refs, job.external_ids, ex.margin.tolist(), ex.score.tolist(),
        float(ex.base_value), job.shap_blobs, job.bands,
        [(r.action, r.reason) for r in job.routes], job.pids, job.features,
        job.at.isoformat(), job.due_days,
        None if c is None else (c.fraction, c.key, c.period_length, c.targeting),
        None if u is None else (u.uri, u.customer_value, u.contact_cost, u.version),
        job.values, job.estimates, job.key, job.body_hash, job.token_hash)


def job_from_wire(w: tuple) -> ScoreJob:
    """`job_wire` read back in the writer process. The contributions stay the bytes the
    receipt stores (not decoded to be encoded again)."""
    (served, who, refs, external_ids, margins, scores, base, shaps, bands, routes, pids,
     features, at, due_days, control_plan, uplift, values, estimates, key, body_hash,
     token_hash) = w
    return ScoreJob(
        served=WrittenModel(*served[:3], Thresholds(*served[3:])),  # type: ignore[arg-type]
        principal=Principal(*who), refs=refs, external_ids=external_ids,
        ex=Explanation(None, np.array(margins), np.array(scores), None, base),  # type: ignore[arg-type]
        shap_blobs=shaps,
        bands=bands, routes=[Route(a, r) for a, r in routes], pids=pids, features=features,
        at=datetime.fromisoformat(at), due_days=due_days,
        control=None if control_plan is None else ControlPlan(*control_plan),
        uplift=None if uplift is None else UpliftPlan(None, *uplift),  # type: ignore[arg-type]
        values=values, estimates=estimates, key=key, body_hash=body_hash,
        token_hash=token_hash)


class Decided(NamedTuple):
    """What the write decided for one receipt that the answer shows (`answer`)."""

    arm: str | None
    targeting: str
    uplift: float | None
    customer_value: float | None
    expected_value: float | None


_REPLAYED = "replayed"  # a `Replayed` on the pipe: (_REPLAYED, ids)


def stored_wire(stored: Stored | Replayed) -> tuple:
    """The outcome the answer needs, as plain values (the writer process's reply)."""
    if isinstance(stored, Replayed):
        return (_REPLAYED, stored.prediction_ids)
    return ([(r.action, r.reason) for r in stored.routes], stored.task_ids,
            [(r.arm, r.targeting, r.uplift, r.customer_value, r.expected_value)
             for r in stored.rows])


def stored_from_wire(w: tuple) -> Stored | Replayed:
    if w[0] == _REPLAYED:  # a Stored's first item is a list of routes, never this text
        return Replayed(w[1])
    routes, task_ids, rows = w
    return Stored(routes=[Route(a, r) for a, r in routes], task_ids=task_ids,
                  rows=[Decided(*r) for r in rows])  # type: ignore[misc]


def store_wire(session: Session, jobs: Sequence[tuple]) -> list[tuple | DomainError]:
    """`store` on the writer process's side of the pipe."""
    return [o if isinstance(o, BaseException) else stored_wire(o)
            for o in store(session, [job_from_wire(j) for j in jobs])]


def score_writer(db: Database, settings: Settings) -> ScoreWriter:
    """The server's group-committing writer of online predictions: its groups committed
    by a writer process of its own (started here, once), or by its thread
    (`Settings.writer`; always the thread for an in-memory SQLite database)."""
    process = None
    if settings.writer == "process" and writerproc.shareable(db.url):
        process = writerproc.WriterProcess(db.url, WRITER_STORE, job_wire, stored_from_wire)
        process.start()
    return GroupCommit(db, store, max_rows=settings.group_commit_rows,
                       wait=group_wait_ms(settings.group_commit_wait_ms, process is not None)
                       / 1e3, process=process)


def group_wait_ms(configured: float | None, in_process: bool) -> float:
    """How long the writer waits for a group to fill: `CHURN_GROUP_COMMIT_WAIT_MS`, else
    none for the writer process and 2 ms for the thread. Measured under wrk (-c8, 2
    cores): the process answered about 1,350 predictions a second without waiting and 900
    waiting 2 ms; the thread about 880 either way, with fewer flushes when it waits."""
    if configured is not None:
        return configured
    return 0.0 if in_process else 2.0


def score(
    writer: ScoreWriter,
    served: ServedModel,
    settings: Settings,
    items: list[ScoreRequest],
    principal: Principal,
    lang: str = "en",
    uplift: UpliftPlan | None = None,
    key: str | None = None,
) -> list[dict[str, Any]] | Replayed:
    """Validate every record first (nothing half-written), then score, explain, route,
    store the receipts and open human tasks durably (a group commit) before returning:
    `prepare`, the writer, `answer`. `uplift`: the uplift model in force
    (CHURN_TARGETING=uplift), applied with the rule every path applies
    (`serving.loop.targeting.target`). `key`: the request's Idempotency-Key; a repeat of a
    request already stored returns `Replayed` (for `replay`) and stores nothing."""
    job = prepare(served, settings, items, principal, uplift, key)
    outcome = writer.submit(job, rows=len(items))
    return outcome if isinstance(outcome, Replayed) else answer(job, outcome, lang)


def prepare(served: ServedModel, settings: Settings, items: list[ScoreRequest],
            principal: Principal, uplift: UpliftPlan | None = None,
            key: str | None = None) -> ScoreJob:
    """Validate every record (`InvalidInput` naming each bad field: nothing is written),
    then score, explain and route them: the job the writer stores. Under uplift targeting
    the uplift of each record that may open a task is estimated here, before the write
    and outside its lock (the draw and the restrictions are only known under it). `key`:
    the request's Idempotency-Key (`idempotency.clean_key`), kept with the receipts."""
    errors = _invalid(items, served)
    if errors:
        raise InvalidInput.naming(
            f"the features do not fit model {served.name} v{served.version}: "
            + "; ".join(f"{e.field}: {e.problem}" for e in errors[:10]), errors)
    model, spec, t = served.model, served.spec, served.thresholds
    assert model.encoder is not None
    X = model.encoder.encode_records([i.features for i in items], validate=False)
    ex = model.explain(X)
    scores = ex.score.tolist()
    pseudonym = _pseudonymiser(settings.pseudonym_secret)
    job = ScoreJob(
        served=served, principal=principal,
        refs=[pseudonym(i.customer_id) for i in items],
        external_ids=[i.customer_id for i in items], ex=ex,
        bands=[risk_band(s, t) for s in scores],
        routes=route_many(scores, t), pids=new_ids(len(items)),
        features=decoded_json(spec, X), shap_blobs=[pack_shap(row) for row in ex.shap],
        at=datetime.now(UTC),
        due_days=settings.task_due_days,
        control=_control_plan(settings),
    )
    if key is not None:
        job.key = idempotency.scoped(principal.user_id or principal.actor, key)
        job.body_hash = idempotency.digest([i.model_dump(mode="json") for i in items])
    if job.control is not None and job.control.targeting == "uplift" and uplift is not None:
        maybe = [n for n, r in enumerate(job.routes) if r.action == "human_contact"]
        job.uplift = uplift
        job.estimates = targeting.estimate(uplift, [job.pids[n] for n in maybe],
                                           [job.features[n] for n in maybe])
        job.values = {job.pids[n]: float(i.customer_value)
                      for n, i in enumerate(items) if i.customer_value is not None}
    return job


def answer(job: ScoreJob, stored: Stored, lang: str = "en") -> list[dict[str, Any]]:
    """The stored job's predictions as `PredictionPublic` shapes them, as plain JSON-ready
    data: the hot path of the API builds no pydantic object per prediction (the router
    sends them as they are; `tests/serving/scoring` checks them against the schema). An
    agent never reads the control draw (`control.agent_route`, `_task_shown`)."""
    served, ex = job.served, job.ex
    spec = served.spec
    ref = {"name": served.name, "version": served.version,
           "contract_version": served.contract_version}
    created = _json_time(job.at)
    base = float(ex.base_value)
    scores, margins = ex.score.tolist(), ex.margin.tolist()
    agent = job.principal.kind == "staff" and job.principal.role == "agent"
    fraction = job.control.fraction if job.control is not None else 0.0
    out = []
    for n in range(len(job.refs)):
        row = stored.rows[n]
        action, reason = _route_shown(stored.routes[n].action, stored.routes[n].reason,
                                      row.arm, agent, fraction)
        out.append({
            "prediction_id": job.pids[n], "customer_ref": job.refs[n], "model": ref,
            "score": scores[n], "risk_band": job.bands[n], "base_value": base,
            "margin": margins[n],
            "contributions": [{"feature": f, "label": label, "value": v, "shap": s,
                               "text": text} for f, label, v, s, text in contribution_rows(
                                   spec, decoded_values(spec, ex.X[n]), ex.shap[n], lang)],
            "route": {"action": action, "reason": reason},
            "retention_task_id": _task_shown(stored.task_ids[n], row.arm, agent, fraction),
            "targeting": _targeting_json(row),
            "created_at": created})
    return out


def _json_time(at: datetime) -> str:
    """A UTC time as the API's JSON writes it (pydantic's form: ISO 8601, "Z")."""
    text = at.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@functools.lru_cache(maxsize=8)
def _pseudonymiser(secret: str) -> Pseudonymiser:
    """One keyed HMAC state per key, prepared once (not per request)."""
    return Pseudonymiser(secret)


_PLANS: dict[int, tuple[Settings, ControlPlan]] = {}


def _control_plan(settings: Settings) -> ControlPlan:
    """The settings' control plan, derived once per settings object (its key is an HMAC)."""
    hit = _PLANS.get(id(settings))
    if hit is None or hit[0] is not settings:
        if len(_PLANS) > 64:
            _PLANS.clear()
        hit = _PLANS[id(settings)] = (settings, ControlPlan.from_settings(settings))
    return hit[1]


def _route_shown(action: str, reason: str, arm: str | None, agent: bool,
                 control_fraction: float) -> tuple[str, str]:
    """A receipt's route as the reader reads it: an agent never sees the control draw
    (`control.agent_route`); everyone else reads the route stored."""
    if not agent:
        return action, reason
    r = control.agent_route(action, reason, arm, control_fraction)
    return r.action, r.reason


def _route_public(action: str, reason: str, arm: str | None, agent: bool,
                  control_fraction: float) -> RoutePublic:
    shown, why = _route_shown(action, reason, arm, agent, control_fraction)
    return RoutePublic(action=shown, reason=why)  # type: ignore[arg-type]


def _task_shown(task_id: str | None, arm: str | None, agent: bool,
                control_fraction: float) -> str | None:
    """The receipt's task, unless an agent reads a drawn receipt while a control group
    runs: a task beside one receipt and none beside another would name the arm (agents
    find their tasks in the queue, `GET /v1/retention-tasks`)."""
    hidden = agent and control.agent_route("none", "", arm, control_fraction) is control.CAMPAIGN
    return None if hidden else task_id


def _targeting_json(row: PredictionRow | Prediction | Decided) -> dict[str, Any]:
    """The rule a receipt was routed by, with its numbers (uplift targeting), as
    `TargetingPublic` shapes it."""
    return {"rule": "uplift" if row.targeting == "uplift" else "risk", "uplift": row.uplift,
            "customer_value": row.customer_value, "expected_value": row.expected_value}


def _targeting_public(row: PredictionRow | Prediction) -> TargetingPublic:
    """`_targeting_json` as the schema."""
    return TargetingPublic(**_targeting_json(row))


def _refusal(job: ScoreJob, refusals: tuple[tuple[set[str], str, str], ...]
             ) -> Suppressed | None:
    """The first refusal (customers, message for one record, who they are for several)
    that names a customer of `job`: nothing of the job is stored."""
    for customers, one, many in refusals:
        rows = [n for n, r in enumerate(job.refs) if r in customers]
        if rows:
            return Suppressed(one if len(job.refs) == 1 else
                              f"records {rows} are {many}: nothing is scored", rows=rows)
    return None


def store(session: Session, jobs: Sequence[ScoreJob]) -> list[Stored | Replayed | DomainError]:
    """Store a group of scored requests in the session's transaction (the caller commits).

    A request naming a customer who objected to profiling, or who was erased, stores
    nothing and gets `Suppressed`; a restricted customer's receipt is kept with route `none`, their
    risk-list entry is left alone and no task is opened. A record with exactly the values of
    one of the customer's overturned receipts is kept withdrawn with route `none`
    (`routing.OVERTURNED`): it takes no task and leaves the customer off the risk list. A
    customer carrying an open or claimed task from an earlier campaign period (read here,
    under the lock) is not drawn into the control group (`control.assign`). A request sent
    with an Idempotency-Key that was stored before, in an earlier group or earlier in this
    one, stores nothing again (`_repeat`)."""
    db = Receipts(session)
    # staff tokens the loop let predictions through on (`serving.auth.known`), as they
    # stand now: under this transaction's lock, later than any lookup before it
    tokens = staff.active_by_token_hashes(
        db, [job.token_hash for job in jobs if job.token_hash is not None])
    refs = sorted({r for job in jobs for r in job.refs})
    # the start of the campaign period each job draws for: a customer whose open task
    # was created before it is not drawn (`control.assign`); read in the same statement
    starts = {id(job): job.control.period_start(job.at) for job in jobs
              if job.control is not None}
    # Locked in key order: a dispute or objection being written for one of these
    # customers is waited for, so its restriction or objection is seen here.
    flags, erased, overturned, carried = db.standing(refs, lock=True,
                                                     carried_before=list(starts.values()))
    outcomes: list[Stored | Replayed | DomainError] = []
    kept: list[tuple[ScoreJob, Stored]] = []
    # keyed requests: the receipts stored for their keys before, and the first job of
    # this group with each key (read under the lock: no other write can store one meanwhile)
    found = db.keyed([job.key for job in jobs if job.key is not None])
    first: dict[str, tuple[ScoreJob, Stored | DomainError]] = {}
    refusals = (
        (erased, "the customer's data was erased at their request: "
         "they are not scored again", "customers erased at their request"),
        ({r for r, (_restricted, objected) in flags.items() if objected},
         "the customer objected to profiling: nothing is scored",
         "customers who objected to profiling"),
    )
    for job in jobs:
        if job.token_hash is not None and tokens.get(job.token_hash) != (
                job.principal.user_id, job.principal.role):
            outcomes.append(TokenWithdrawn())  # nothing stored, not even a repeat's answer
            continue
        if job.key is not None:
            repeat = _repeat(job, found.get(job.key), first.get(job.key))
            if repeat is not None:
                outcomes.append(repeat)
                continue
        refused = _refusal(job, refusals)
        if refused is not None:
            outcomes.append(refused)
            if job.key is not None:
                first[job.key] = (job, refused)
            continue
        t = job.served.thresholds
        stored = Stored(
            routes=[OVERTURNED if repeats_overturned(job.features[n],
                                                     overturned.get(r, frozenset()))
                    else route(float(job.ex.score[n]), t, restricted=True)
                    if flags.get(r, (False, False))[0] else job.routes[n]
                    for n, r in enumerate(job.refs)],
            task_ids=[None] * len(job.refs))
        outcomes.append(stored)
        kept.append((job, stored))
        if job.key is not None:
            first[job.key] = (job, stored)
    if not kept:
        return outcomes

    latest: dict[str, LatestEntry] = {}  # one entry per customer: the newest receipt wins
    withdrawn: set[str] = set()
    receipts: list[PredictionRow] = []
    tasks: dict[str, TaskRow] = {}
    # when this group's own task for a customer was made: a later job of the group whose
    # campaign period starts after it finds that task, as it would have in the next group
    task_made: dict[str, datetime] = {}
    for job, stored in kept:
        at = db.db_time(job.at)
        start = starts.get(id(job))
        # a receipt that would open a task is drawn into an arm (unless its customer
        # carries an open task from an earlier period); a held-out one (control) is routed
        # nowhere and opens none, and so is one whose call is not worth its cost under
        # uplift targeting: the rule every path applies (serving/loop/targeting.py)
        held = frozenset(carried.get(start, ())) | frozenset(
            r for r in job.refs if start is not None and r in task_made
            and task_made[r] < start)
        rows, _ = targeting.target(job.control, job.uplift, job.rows(at, stored.routes), (),
                                   job.at, job.values, job.estimates, held)
        stored.rows = rows
        for n, row in enumerate(rows):
            if row.route_action != stored.routes[n].action:
                stored.routes[n] = Route(row.route_action, row.route_reason)  # type: ignore[arg-type]
            receipts.append(row)
            if row.withdrawn:
                withdrawn.add(row.id)
            latest[row.customer_ref] = LatestEntry(
                row.customer_ref, job.external_ids[n], row.id, row.score, row.risk_band, at)
            if row.route_action == "human_contact":
                task = TaskRow(new_id(), row.customer_ref, row.id, row.score,
                               row.route_reason, at, db.due_at(at, job.due_days),
                               expected_value=row.expected_value)
                earlier = tasks.get(row.customer_ref)
                if earlier is None:
                    task_made[row.customer_ref] = job.at
                else:  # as the upsert treats an open task: the newer receipt, the first
                    # task's creation and due date
                    task = task._replace(id=earlier.id, created_at=earlier.created_at,
                                         due_at=earlier.due_at)
                tasks[row.customer_ref] = task
    db.move_latest([latest[r] for r in sorted(latest)])
    # a repeat of an overturned receipt is no one's entry: the customer stays off the list
    db.clear_entries([(r, e.prediction_id) for r, e in sorted(latest.items())
                      if e.prediction_id in withdrawn])
    db.insert(receipts)
    opened = db.open_tasks([tasks[r] for r in sorted(tasks)], None)  # each has its due_at
    open_task = db.open_task_ids(sorted(tasks))
    events = []
    for job, stored in kept:
        for n, ref in enumerate(job.refs):
            if stored.routes[n].action == "human_contact":
                stored.task_ids[n] = open_task.get(ref)
            events.append(audit.event(
                job.principal, audit.PREDICTION_CREATED, customer_ref=ref,
                objects={"prediction_id": job.pids[n], "task_id": stored.task_ids[n]},
                model=job.served))
    by_ref = {ref: job for job, _ in kept for ref in job.refs}
    for row in opened:  # each task opened, in the chain (issue 16)
        job = by_ref[row.customer_ref]
        events += created_events([row], job.principal, "api", job.served)
    audit.append_many(session, events)
    return outcomes


def _repeat(job: ScoreJob, earlier: list[KeyedReceipt] | None,
            in_group: tuple[ScoreJob, Stored | DomainError] | None,
            ) -> Replayed | DomainError | None:
    """The outcome of a keyed job whose key was used before, None if it was not: the
    receipts stored then (`Replayed`), or what the first request with it got in this group.
    The same key with another body is refused; a key whose receipts were since erased or
    purged cannot be answered again."""
    if earlier:
        if earlier[0].request_hash != job.body_hash:
            return idempotency.mismatch("a new request")
        if [r.request_item for r in earlier] != list(range(len(job.refs))):
            return idempotency.KeyExpired.gone(len(job.refs) - len(earlier))
        return Replayed([r.prediction_id for r in earlier])
    if in_group is not None:
        before, outcome = in_group
        if before.body_hash != job.body_hash:
            return idempotency.mismatch("a new request")
        return Replayed(list(before.pids)) if isinstance(outcome, Stored) else outcome
    return None


def replay(db: Database, specs: SpecCache, repeat: Replayed, principal: Principal,
           lang: str = "en", control_fraction: float = 0.0) -> list[dict[str, Any]]:
    """The answer to a repeat of a keyed request: its receipts read back, as they stand
    now (a task closed since shows as closed), in the shape and order of the first
    answer. A member of staff reading them again is a read of customers' records, in the
    audit log as any other (`audit.staff_reads`)."""
    ids = repeat.prediction_ids
    with db.session() as session:
        rows = receipts.by_ids(session, ids)
        if len(rows) != len(set(ids)):  # erased between the write's check and this read
            raise idempotency.KeyExpired.gone(len(set(ids)) - len(rows))
        out = [_prediction_public(session, specs, rows[i], principal, lang,
                                  control_fraction).model_dump(mode="json") for i in ids]
        audit.staff_reads(session, principal,
                          [(rows[i].customer_ref, "prediction", i) for i in ids], "api_repeat")
    return out


def public(session: Session, specs: SpecCache, p: Prediction, lang: str = "en",
           top: int | None = None, task_id: str | None = None,
           audience: Audience = "staff", agent_view: float | None = None) -> PredictionPublic:
    """A stored prediction as the API shows it, explained from its model version's spec
    (its reasons about "the customer" for staff, "you" for the customer themself).
    `agent_view`: read by an agent while CHURN_CONTROL_FRACTION is this: the route never
    shows the control draw (`control.agent_route`). The targeting rule is for staff."""
    spec = specs.get(session, p.model_name, p.model_version)
    values = json.loads(p.features)
    agent = agent_view is not None
    return PredictionPublic(
        prediction_id=p.id, customer_ref=p.customer_ref,
        model=ModelRef(name=p.model_name, version=p.model_version,
                       contract_version=p.contract_version),
        score=p.score, risk_band=p.risk_band, base_value=p.base_value, margin=p.margin,
        contributions=contributions_public(spec, values, unpack_shap(p.shap), lang, top,
                                           audience),
        route=_route_public(p.route_action, p.route_reason, p.arm, agent, agent_view or 0.0),
        retention_task_id=_task_shown(task_id, p.arm, agent, agent_view or 0.0),
        targeting=_targeting_public(p) if audience == "staff" else None,
        created_at=p.created_at,
    )


def contributions_public(spec: ModelSpec, values: dict[str, Any], shap: Any,
                         lang: str = "en", top: int | None = None,
                         audience: Audience = "staff") -> list[ContributionPublic]:
    """`models.explain.contributions` in the API's shape."""
    return [ContributionPublic(feature=c.feature, label=c.label, value=c.value, shap=c.shap,
                               text=c.text)
            for c in contributions(spec, values, shap, lang, top, audience)]


def get_prediction(session: Session, specs: SpecCache, prediction_id: str,
                   principal: Principal, lang: str = "en",
                   control_fraction: float = 0.0) -> PredictionPublic:
    """Staff read any receipt; a customer only their own (anyone else's is 404). An agent
    reads a drawn receipt's route as `control.agent_route` words it (CHURN_CONTROL_FRACTION
    `control_fraction`): never the arm."""
    return _prediction_public(session, specs, _readable(session, prediction_id, principal),
                              principal, lang, control_fraction)


def read_prediction(session: Session, specs: SpecCache, prediction_id: str,
                    principal: Principal, lang: str = "en", control_fraction: float = 0.0,
                    via: str = "api") -> PredictionPublic:
    """`get_prediction` for its reader, a member of staff's read in the audit log (filed
    under the customer), a customer's own not."""
    p = _readable(session, prediction_id, principal)
    ref = p.customer_ref
    out = _prediction_public(session, specs, p, principal, lang, control_fraction)
    audit.staff_read(session, principal, ref, "prediction", prediction_id, via)
    return out


def _readable(session: Session, prediction_id: str, principal: Principal) -> Prediction:
    p = session.get(Prediction, prediction_id)
    if p is None or (principal.kind == "customer" and p.customer_ref != principal.customer_ref):
        raise NotFound("no such prediction")
    return p


def _prediction_public(session: Session, specs: SpecCache, p: Prediction,
                       principal: Principal, lang: str,
                       control_fraction: float) -> PredictionPublic:
    agent = principal.kind == "staff" and principal.role == "agent"
    return public(session, specs, p, lang, task_id=receipts.open_task_of(session, p.id),
                  audience="customer" if principal.kind == "customer" else "staff",
                  agent_view=control_fraction if agent else None)


def history(session: Session, customer_ref: str, limit: int = 20) -> list[Prediction]:
    """The customer's receipts, newest first (withdrawn ones included, flagged as such)."""
    return receipts.history(session, customer_ref, limit)
