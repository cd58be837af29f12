"""The contact queue (claim, attempts, complete with an outcome, release, reassign) and
the risk list (keyset pages), with the customer's own voice (their disputes) beside them.

Handled customers leave the top: sorted by score (the default), a customer contacted, or
whose task was closed, within the last CHURN_TASK_HANDLED_DAYS days is listed after every
customer not handled since, so the top of the list is always work still to do; they are
not hidden (page on, or sort by last contact).

Under uplift targeting (issue 17) the queue's default order is `value`: the highest
expected retained value of a call first (`default_sort`), each task showing that value.
Agents never see the control group's draw: customers held out are not on their risk list
(admins see them, with the arm).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import false
from sqlalchemy.orm import Session

from models import pseudonymise
from serving import cursors
from serving.audit import service as audit
from serving.auth import users
from serving.auth.principal import Principal
from serving.config import Settings
from serving.disputes.service import dispute_public
from serving.errors import Conflict, InvalidInput, field_error, must_find
from serving.retention.schemas import (
    SORTS,
    CallValuePublic,
    CompleteRequest,
    ContactAttemptCreate,
    ContactAttemptPublic,
    DisputeSummary,
    RetentionTaskPage,
    RetentionTaskPublic,
    RiskEntryPublic,
    RiskListPage,
    TaskCounts,
    VoiceMark,
)
from serving.scoring.schemas import ModelRef
from serving.scoring.service import contributions_public, public
from serving.specs import SpecCache
from serving.storage import risk_list as risk_list_rows
from serving.storage import tasks
from serving.storage.db import write_lock
from serving.storage.receipts import unpack_shap
from serving.storage.tables import (
    OPEN_TASK_STATUSES,
    ContactAttempt,
    Customer,
    Prediction,
    RetentionTask,
    new_id,
)


# -- cursors -------------------------------------------------------------------------------
def decode_cursor(cursor: str) -> tuple[float, str, int]:
    """A risk-list key: (score, pseudonym, phase: 0 not handled recently, 1 handled)."""
    parts = cursors.parts(cursor)
    try:
        score, key, *rest = parts
        return float(score), str(key), int(rest[0]) if rest else 0
    except Exception as exc:  # noqa: BLE001
        raise cursors.refused(cursor) from exc


def _task_key(cursor: str, sort: str) -> list[Any]:
    """A queue key for `sort`: its order values, then the task id."""
    parts = cursors.parts(cursor)
    try:
        if parts[0] != sort:
            raise ValueError("the cursor was made for another sort")
        if sort == "score":
            handled, neg_score, key = parts[1:]
            return [int(handled), float(neg_score), str(key)]
        if sort == "value":
            handled, neg_value, neg_score, key = parts[1:]
            return [int(handled), float(neg_value), float(neg_score), str(key)]
        at, neg_score, key = parts[1:]
        return [datetime.fromisoformat(at), float(neg_score), str(key)]
    except Exception as exc:  # noqa: BLE001
        raise cursors.refused(cursor) from exc


def check_sort(sort: str) -> str:
    """`sort` if it is one of `SORTS`, else an error listing them."""
    if sort not in SORTS:
        raise InvalidInput.naming(
            f"sort {sort!r} is not known; use one of {', '.join(SORTS)}",
            [field_error(["query", "sort"], "unknown sort", " | ".join(SORTS), sort,
                         fix="score: highest risk first (handled customers after the "
                             "others); due: soonest due first; last_contact: never "
                             "contacted first, then the longest ago; value: the highest "
                             "expected value of a call first (uplift targeting).")])
    return sort


def default_sort(uplift_in_force: bool) -> str:
    """The queue's order when none is asked for: by the expected value of a call while
    uplift targeting is in force (CHURN_TARGETING=uplift and a promoted uplift model),
    else by risk."""
    return "value" if uplift_in_force else "score"


def task_call_value(session: Session, task: RetentionTask | None) -> CallValuePublic | None:
    """What the task's call is expected to be worth (None: no task, or risk targeting)."""
    if task is None or task.expected_value is None:
        return None
    return call_value(task.expected_value, session.get(Prediction, task.prediction_id))


def arm_shown(session: Session, prediction_id: str | None, reader: Principal) -> str | None:
    """The control-group arm of a receipt, for a reader allowed to see it (reviewers and
    admins; agents never see the draw): "contact", "control" or None."""
    if prediction_id is None:
        return None
    return arms_shown(session, [prediction_id], reader).get(prediction_id)


def arms_shown(session: Session, prediction_ids: list[str], reader: Principal
               ) -> dict[str, str]:
    """The arm of each drawn receipt among `prediction_ids`, for reviewers and admins
    only (an agent gets nothing: agents never see the draw)."""
    if reader.role not in ("reviewer", "admin") or not prediction_ids:
        return {}
    return risk_list_rows.arms(session, prediction_ids)


def call_value(expected_value: float | None, pred: Prediction | None
               ) -> CallValuePublic | None:
    """What a task's call is expected to be worth (None: risk targeting)."""
    if expected_value is None:
        return None
    return CallValuePublic(expected_value=expected_value,
                           uplift=pred.uplift if pred is not None else None,
                           customer_value=pred.customer_value if pred is not None else None)


def handled_since(days: int, now: datetime | None = None) -> datetime | None:
    """From when a contact counts as recent (None: the rule is off, `days` 0)."""
    return (now or datetime.now(UTC)) - timedelta(days=days) if days > 0 else None


# -- tasks ---------------------------------------------------------------------------------
def overdue(due_at: datetime | None, status: str, now: datetime | None = None) -> bool:
    """An open or claimed task past its due date."""
    return (due_at is not None and status in OPEN_TASK_STATUSES
            and (now or datetime.now(UTC)) > due_at)


def _attempt_public(a: ContactAttempt) -> ContactAttemptPublic:
    return ContactAttemptPublic(attempt_id=a.id, channel=a.channel, reached=a.reached,
                                note=a.note, agent=a.agent, attempted_at=a.attempted_at)


def customer_voice(session: Session, specs: SpecCache, customer_ref: str,
                   lang: str = "en") -> list[DisputeSummary]:
    """The customer's disputes, newest first, as the agent reads them before calling:
    the statement, what they contested, the decision, the reviewer's rationale, when."""
    out = []
    for d in risk_list_rows.disputes_of(session, customer_ref):
        full = dispute_public(session, specs, d, lang)
        dec = full.decision
        out.append(DisputeSummary(
            dispute_id=d.id, status=d.status, statement=d.statement,
            contested=full.contested_features, received_at=d.received_at,
            assisted=bool(d.assisted), decision=dec.decision if dec else None,
            rationale=dec.rationale if dec else None,
            decided_at=dec.decided_at if dec else None))
    return out


def voice_marks(session: Session, refs: list[str]) -> dict[str, VoiceMark]:
    """Each listed customer's dispute mark (only customers who ever disputed)."""
    out = {}
    for ref, rows in risk_list_rows.dispute_marks(session, refs).items():
        decided = [(decision, at) for status, decision, at in rows if status == "decided"]
        out[ref] = VoiceMark(
            open_disputes=sum(1 for status, _, _ in rows if status == "open"),
            last_decision=decided[0][0] if decided else None,
            decided_at=decided[0][1] if decided else None)
    return out


def _task_public(session: Session, specs: SpecCache, task: RetentionTask, pred: Prediction,
                 customer: Customer, lang: str, *,
                 attempts: list[ContactAttempt] | None = None,
                 voice: bool = True) -> RetentionTaskPublic:
    open_ = task.status in OPEN_TASK_STATUSES
    if attempts is None:
        attempts = tasks.attempts(session, [task.id])[task.id]
    return RetentionTaskPublic(
        task_id=task.id, status=task.status, customer_id=customer.external_id,
        customer_ref=task.customer_ref, score=task.score, reason=task.reason,
        prediction=public(session, specs, pred, lang, task_id=task.id if open_ else None),
        claimed_by=task.claimed_by, claimed_at=task.claimed_at, outcome=task.outcome,
        note=task.note, completed_at=task.completed_at, created_at=task.created_at,
        due_at=task.due_at, overdue=overdue(task.due_at, task.status),
        last_contact_at=customer.last_contact_at,
        attempts=[_attempt_public(a) for a in attempts],
        disputes=customer_voice(session, specs, task.customer_ref, lang) if voice else [],
        call_value=call_value(task.expected_value, pred),
    )


def _audit_read(session: Session, reader: Principal, action: str, objects: dict[str, Any],
                via: str | None, customer_ref: str | None = None) -> None:
    """Every read of a list of customers is in the audit log, whoever serves it; one
    customer's list is filed under them."""
    audit.read(session, reader, action, customer_ref=customer_ref,
                 objects=objects | ({"via": via} if via else {}))


def list_tasks(session: Session, specs: SpecCache, status: str = "open", limit: int = 50,
               cursor: str | None = None, lang: str = "en", *, reader: Principal,
               via: str | None = None, mine: bool = False,
               customer_ref: str | None = None, sort: str = "score",
               handled_days: int = 0) -> RetentionTaskPage:
    """Tasks waiting for a person (status `open`, `claimed` or both with `active`) in
    the order `sort` (`SORTS`; by score, customers handled in the last `handled_days`
    days come after the others); `mine`: only those the reader claimed; `customer_ref`:
    one customer's. Restricted or objecting customers are left out. Each task carries its
    due date, contact attempts and the customer's disputes. The read is audited (`via`:
    the entry point when not the JSON API)."""
    check_sort(sort)
    statuses = OPEN_TASK_STATUSES if status == "active" else (status,)
    rows = tasks.page(session, statuses, limit, _task_key(cursor, sort) if cursor else None,
                      claimed_by=reader.actor if mine else None, customer_ref=customer_ref,
                      sort=sort, handled_since=handled_since(handled_days))
    shown = rows[:limit]
    tried = tasks.attempts(session, [t.id for t, _, _, _ in shown])
    items = [_task_public(session, specs, t, p, c, lang, attempts=tried[t.id])
             for t, p, c, _ in shown]
    nxt = cursors.encode(sort, *rows[limit - 1][3]) if len(rows) > limit else None
    _audit_read(session, reader, audit.TASK_LIST_READ,
                {"status": status, "limit": limit, "page": "next" if cursor else "first",
                 "entries": len(items), "mine": mine, "sort": sort,
                 "customer_ref": customer_ref}, via, customer_ref)
    return RetentionTaskPage(items=items, next_cursor=nxt)


def task_statuses(session: Session, task_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Status and claimant of each task id (shown beside a risk-list entry)."""
    return tasks.statuses(session, task_ids) if task_ids else {}


def current_task(session: Session, customer_ref: str) -> RetentionTask | None:
    """The customer's open or claimed task, else their most recent one."""
    return tasks.current(session, customer_ref)


def _load(session: Session, task_id: str) -> tuple[RetentionTask, Prediction, Customer]:
    return must_find(tasks.load(session, task_id), "no such retention task")


def _reread(session: Session, specs: SpecCache, task_id: str,
            lang: str) -> RetentionTaskPublic:
    """The task as it is now that the caller's change is committed."""
    session.expire_all()
    return get_task(session, specs, task_id, lang)


# The rules every task action applies, in one place (the API and the staff page both come
# through these functions).
def _contact_allowed(customer: Customer) -> None:
    """Nobody contacts a customer whose record is restricted or who objected."""
    if customer.restricted or customer.objected:
        raise Conflict("the customer's record is restricted or they objected: do not contact")


def _in_hand(task: RetentionTask) -> None:
    """Work on a task (an attempt, its outcome) needs it claimed, and not closed."""
    if task.status == "open":
        raise Conflict("claim the task first (POST /v1/retention-tasks/{id}/claim)")
    if task.status != "claimed":
        raise Conflict(f"the task is already {task.status}")


def _holder_or_admin(task: RetentionTask, principal: Principal, then: str = "") -> None:
    """A claimed task is its claimant's: only they, or an admin, act on it."""
    if task.claimed_by != principal.actor and principal.role != "admin":
        raise Conflict(f"the task is claimed by {task.claimed_by}{then}")


def claim(session: Session, specs: SpecCache, task_id: str, principal: Principal,
          lang: str = "en") -> RetentionTaskPublic:
    """Take an open task. Claiming one's own claimed task again is a no-op."""
    with write_lock(session):
        task, _, customer = _load(session, task_id)
        _contact_allowed(customer)
        if not tasks.mark_claimed(session, task_id, principal.actor, datetime.now(UTC)):
            session.rollback()
            task, _, _ = _load(session, task_id)
            if not (task.status == "claimed" and task.claimed_by == principal.actor):
                raise Conflict(f"the task is {task.status}"
                               + (f" by {task.claimed_by}" if task.status == "claimed" else ""))
        else:
            _audit_task(session, principal, audit.TASK_CLAIMED, task)
        session.commit()
    return _reread(session, specs, task_id, lang)


def complete(session: Session, specs: SpecCache, task_id: str, body: CompleteRequest,
             principal: Principal, lang: str = "en") -> RetentionTaskPublic:
    """Close a task one has claimed (an admin may close anyone's) with its outcome."""
    with write_lock(session):
        task, _, _ = _load(session, task_id)
        _in_hand(task)
        _holder_or_admin(task, principal)
        now = datetime.now(UTC)
        if not tasks.mark_done(session, task_id, task.version, principal.actor, body.outcome,
                               body.note, now):
            session.rollback()
            raise Conflict("the task changed meanwhile; read it again")
        tasks.touch_contact(session, task.customer_ref, now)  # handled: off the top
        _audit_task(session, principal, audit.TASK_COMPLETED, task, outcome=body.outcome,
                    claimed_by=task.claimed_by)
        session.commit()
    return _reread(session, specs, task_id, lang)


def attempt(session: Session, specs: SpecCache, task_id: str, body: ContactAttemptCreate,
            principal: Principal, lang: str = "en") -> RetentionTaskPublic:
    """Record one try at reaching the customer on a task one has claimed (an admin on
    anyone's): channel, whether they were reached, a note. Several per task; the task
    stays claimed until completed with its one outcome. The customer's last contact moves
    (they leave the top of the list); audited with the channel, never the note."""
    with write_lock(session):
        task, _, customer = _load(session, task_id)
        _in_hand(task)
        _contact_allowed(customer)
        _holder_or_admin(task, principal)
        now = datetime.now(UTC)
        attempt_id = new_id()
        tasks.add_attempt(session, {
            "id": attempt_id, "task_id": task.id, "customer_ref": task.customer_ref,
            "channel": body.channel, "reached": body.reached, "note": body.note,
            "agent": principal.actor, "attempted_at": now})
        _audit_task(session, principal, audit.TASK_ATTEMPTED, task, attempt_id=attempt_id,
                    channel=body.channel, reached=body.reached)
        session.commit()
    return _reread(session, specs, task_id, lang)


def find_customer(session: Session, settings: Settings, customer_id: str) -> str | None:
    """The pseudonym of the customer with this raw id, if one is held (the lookup is by
    pseudonym: the raw id is only ever compared through its keyed hash)."""
    ref = pseudonymise(customer_id, settings.pseudonym_secret)
    return ref if tasks.customer_exists(session, ref) else None


def customer_held(session: Session, customer_ref: str) -> bool:
    """A customer with this pseudonym is held."""
    return tasks.customer_exists(session, customer_ref)


def last_contact(session: Session, customer_ref: str) -> datetime | None:
    """When the customer was last contacted (or their task closed); None: never."""
    return tasks.last_contacts(session, [customer_ref]).get(customer_ref)


def get_task(session: Session, specs: SpecCache, task_id: str,
             lang: str = "en") -> RetentionTaskPublic:
    """One task with its attempts and the customer's disputes."""
    task, pred, customer = _load(session, task_id)
    return _task_public(session, specs, task, pred, customer, lang)


def attempts_of(session: Session, task_id: str) -> list[ContactAttemptPublic]:
    """A task's contact attempts, oldest first."""
    return [_attempt_public(a) for a in tasks.attempts(session, [task_id])[task_id]]


def read_task(session: Session, specs: SpecCache, task_id: str, reader: Principal,
              lang: str = "en", via: str = "api") -> RetentionTaskPublic:
    """`get_task` for a member of staff: the read is in the audit log, filed under the
    customer."""
    task, pred, customer = _load(session, task_id)
    ref = task.customer_ref
    out = _task_public(session, specs, task, pred, customer, lang)
    audit.staff_read(session, reader, ref, "retention_task", task_id, via)
    return out


def read_attempts(session: Session, task_id: str, reader: Principal,
                  via: str = "api") -> list[ContactAttemptPublic]:
    """A task's contact attempts for a member of staff (404 for no such task), the read
    in the audit log, filed under the customer."""
    task, _, _ = _load(session, task_id)
    ref = task.customer_ref
    out = attempts_of(session, task_id)
    audit.staff_read(session, reader, ref, "contact_attempts", task_id, via)
    return out


def release(session: Session, specs: SpecCache, task_id: str, principal: Principal,
            lang: str = "en") -> RetentionTaskPublic:
    """Give a claimed task back to the queue (its claimant, or an admin)."""
    with write_lock(session):
        task, _, _ = _load(session, task_id)
        if task.status != "claimed":
            raise Conflict(f"only a claimed task can be released; this one is {task.status}")
        _holder_or_admin(task, principal, ": only they or an admin can release it")
        if not tasks.mark_released(session, task_id, task.version, datetime.now(UTC)):
            session.rollback()
            raise Conflict("the task changed meanwhile; read it again")
        _audit_task(session, principal, audit.TASK_RELEASED, task, claimed_by=task.claimed_by)
        session.commit()
    return _reread(session, specs, task_id, lang)


def reassign(session: Session, specs: SpecCache, task_id: str, to: str, principal: Principal,
             lang: str = "en") -> RetentionTaskPublic:
    """Hand an open or claimed task to agent `to` (their name, or their actor
    `staff:<user id>`): its claimant may hand it over, an admin may move anyone's."""
    with write_lock(session):
        task, _, customer = _load(session, task_id)
        if task.status not in OPEN_TASK_STATUSES:
            raise Conflict(f"the task is already {task.status}")
        _contact_allowed(customer)
        if task.status == "claimed":
            _holder_or_admin(task, principal, ": only they or an admin can hand it over")
        if task.status == "open" and principal.role != "admin":
            raise Conflict("claim the task first, or ask an admin to assign it")
        named = to
        to = users.active_agent(session, named) or ""
        if not to:
            raise InvalidInput.naming("no active agent is named so", [field_error(
                ["body", "to"], "unknown agent", "an active agent's name, or their actor "
                "(staff:<user id>, as a task's claimed_by shows it)", named,
                fix="Give the name of an active agent or admin (an admin lists the staff: "
                    "GET /v1/admin/users).")])
        if not tasks.mark_reassigned(session, task_id, task.version, to, datetime.now(UTC)):
            session.rollback()
            raise Conflict("the task changed meanwhile; read it again")
        _audit_task(session, principal, audit.TASK_REASSIGNED, task, claimed_by=task.claimed_by,
                    to=to)
        session.commit()
    return _reread(session, specs, task_id, lang)


def counts(session: Session, reader: Principal | None = None) -> TaskCounts:
    """Open and claimed tasks by band (customers neither restricted nor objecting), how
    many are overdue, and (with `reader`) how many the reader holds."""
    out = TaskCounts()
    for band, status, n in tasks.counts(session):
        setattr(out, status, getattr(out, status) + n)
        out.by_band[band] = out.by_band.get(band, {}) | {status: n}
    out.overdue = tasks.overdue_count(session, datetime.now(UTC))
    if reader is not None:
        out.mine = tasks.claimed_count(session, reader.actor)
    return out


def _audit_task(session: Session, principal: Principal, action: str, task: RetentionTask,
                **details: Any) -> None:
    """A task event in the audit chain, in the caller's transaction."""
    audit.append(session, principal, action, customer_ref=task.customer_ref,
                 objects={"task_id": task.id, "prediction_id": task.prediction_id,
                          **details})


def outcome_labels(session: Session) -> list[dict[str, Any]]:
    """Completed contacts as training labels (pseudonymised; restricted/objecting customers
    and withdrawn predictions left out)."""
    return [
        {"customer_ref": t.customer_ref, "prediction_id": p.id, "model_name": p.model_name,
         "model_version": p.model_version, "features": json.loads(p.features),
         "score": p.score, "outcome": t.outcome, "completed_at": t.completed_at}
        for t, p in tasks.completed(session)
    ]


# -- risk list -----------------------------------------------------------------------------
TASK_FILTERS = ("open", "claimed", "none")
BANDS = risk_list_rows.BANDS


def _entry(session: Session, specs: SpecCache, c: Customer, p: Prediction,
           task_id: str | None, lang: str) -> RiskEntryPublic:
    spec = specs.get(session, p.model_name, p.model_version)
    reasons = contributions_public(spec, json.loads(p.features), unpack_shap(p.shap),
                                   lang, top=3)
    return RiskEntryPublic(
        customer_id=c.external_id, customer_ref=c.customer_ref, prediction_id=p.id,
        score=p.score, risk_band=p.risk_band,
        model=ModelRef(name=p.model_name, version=p.model_version,
                       contract_version=p.contract_version),
        reasons=reasons, open_task_id=task_id, scored_at=p.created_at,
        last_contact_at=c.last_contact_at,
        call_value=call_value(p.expected_value, p) if task_id else None)


def _annotate(session: Session, items: list[RiskEntryPublic],
              since: datetime | None) -> None:
    """Each entry's task (status, claimant, due date), handled mark and dispute mark."""
    now = datetime.now(UTC)
    held = tasks.by_ids(session, [i.open_task_id for i in items if i.open_task_id])
    marks = voice_marks(session, [i.customer_ref for i in items])
    for i in items:
        t = held.get(i.open_task_id or "")
        if t is not None and t.status in OPEN_TASK_STATUSES:
            i.task_status, i.claimed_by, i.due_at = t.status, t.claimed_by, t.due_at
            i.overdue = overdue(t.due_at, t.status, now)
        i.handled_recently = bool(since and i.last_contact_at and i.last_contact_at >= since)
        i.voice = marks.get(i.customer_ref)


def risk_list(session: Session, specs: SpecCache, band: str | None = None, limit: int = 50,
              cursor: str | None = None, lang: str = "en",
              task: str | None = None, *, reader: Principal,
              via: str | None = None, sort: str = "score", handled_days: int = 0,
              mine: bool = False) -> RiskListPage:
    """The latest prediction per customer, top three reasons each, with their task, due
    date, last contact and dispute mark; optionally only customers whose task is `open`,
    `claimed`, or who have none (`none`), or (`mine`) whose task the reader holds.

    Sorted by score (the default), highest first, customers handled in the last
    `handled_days` days (contacted, or their task closed) after all the others. Sorted by
    `due` or `last_contact`, only customers with an open or claimed task are listed (a
    due date and a contact belong to a task): soonest due first, or never contacted
    first then the longest ago. Sorted by `value` (uplift targeting), customers with an
    open or claimed task, the highest expected value of a call first. The read is audited
    (`via`: the entry point when not the JSON API).

    Agents never see the control group's draw: customers whose receipt in use was held out
    are not listed for them (a high score without a task would single them out); an admin
    sees them (`arms_shown` names their arm on the staff page)."""
    check_sort(sort)
    since = handled_since(handled_days)
    admin = reader.role == "admin"
    if sort != "score" or mine:
        items, nxt = _queue_entries(session, specs, band, limit, cursor, lang, task,
                                    reader, sort, since, mine)
    else:
        items, nxt = _score_entries(session, specs, band, limit, cursor, lang, task, since,
                                    show_held_out=admin)
    _annotate(session, items, since)
    _audit_read(session, reader, audit.RISK_LIST_READ,
                {"band": band, "task": task, "limit": limit, "sort": sort, "mine": mine,
                 "page": "next" if cursor else "first", "entries": len(items)}, via)
    return RiskListPage(items=items, next_cursor=nxt)


def _score_entries(session: Session, specs: SpecCache, band: str | None, limit: int,
                   cursor: str | None, lang: str, task: str | None,
                   since: datetime | None, show_held_out: bool = False
                   ) -> tuple[list[RiskEntryPublic], str | None]:
    """By score: first the customers not handled since `since`, then those handled.
    Customers held out by the control group are left out unless `show_held_out` (an
    admin, who sees the arm)."""
    score, key, phase = decode_cursor(cursor) if cursor else (0.0, "", 0)
    after = (score, key) if cursor else None
    found: list[tuple[Customer, Prediction, str | None, int]] = []
    for ph in ((0, 1) if since is not None else (0,)):
        if ph < phase:
            continue
        extra = risk_list_rows.handled_filter(session, since, ph == 1)
        if ph == 1 and extra is not None and extra.compare(false()):
            break  # nobody handled recently: no second phase to read
        if not show_held_out:
            extra = risk_list_rows.not_held_out(extra)
        rows = risk_list_rows.page(session, limit - len(found), after if ph == phase else None,
                                   band, task, extra)
        found += [(c, p, t, ph) for c, p, t in rows]
        if len(found) > limit:
            break
        found = found[:limit]  # a phase's look-ahead row is not the next page's proof
    items = [_entry(session, specs, c, p, t, lang) for c, p, t, _ in found[:limit]]
    nxt = None
    if len(found) > limit:  # a look-ahead row (of either phase) proves a next page
        c, _, _, ph = found[limit - 1]
        nxt = cursors.encode(c.latest_score, c.customer_ref, ph)
    return items, nxt


def _queue_entries(session: Session, specs: SpecCache, band: str | None, limit: int,
                   cursor: str | None, lang: str, task: str | None, reader: Principal,
                   sort: str, since: datetime | None,
                   mine: bool) -> tuple[list[RiskEntryPublic], str | None]:
    """Customers with an open or claimed task, in the queue's order `sort`."""
    if task == "none":
        return [], None  # no task, no due date nor contact to sort by
    statuses = (task,) if task in OPEN_TASK_STATUSES else OPEN_TASK_STATUSES
    rows = tasks.page(session, statuses, limit, _task_key(cursor, sort) if cursor else None,
                      claimed_by=reader.actor if mine else None, sort=sort,
                      handled_since=since, band=band, latest=True)
    items = [_entry(session, specs, c, p, t.id, lang) for t, p, c, _ in rows[:limit]]
    nxt = cursors.encode(sort, *rows[limit - 1][3]) if len(rows) > limit else None
    return items, nxt
