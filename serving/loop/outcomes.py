"""Who actually left: churn events in (the integration role, or a file), and each
prediction's observed label out.

A prediction's label is 1 when its customer left within `horizon_days` after it was made
(the day of scoring included), 0 when the horizon has passed without a churn event, and
NaN while the horizon is still running and the customer has not left. Events come in by
raw customer id and are pseudonymised on the way in, like everywhere else; an erased
customer's event is refused (their data must not come back), as is one for a customer the
service does not hold, one dated in the future, and a repeat within the same request. An
event already recorded is counted, not stored again: sending the same file twice changes
nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from models import pseudonymise
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.loop.control import campaign_period
from serving.storage import outcomes as store
from serving.storage.tables import new_ids

# -- the day a customer left: one rule for the API and the file ----------------------------
DAY_EXPECTED = ("an ISO date (ISO 8601: YYYY-MM-DD), the day the customer left in UTC, "
                "e.g. 2026-10-31")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_AND_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ].*")
_BASIC_DAY = re.compile(r"(\d{4})(\d{2})(\d{2})")


def day_left(value: object) -> date:
    """The day a customer left, as `POST /v1/churn-events` and `serving.cli outcomes` both
    read it: text written YYYY-MM-DD, a day of the calendar, and nothing else (no time, no
    offset, no spaces, no other ISO form), so that a row means one day whichever way it
    came. Anything else is a ValueError saying what was expected, what came and the fix.
    No earliest day is enforced: a departure before the customer was first scored is
    real information (`label_of` reads it: that prediction was made on a customer
    already gone)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, bool | int | float):
        got, fix = f"the number {value!r}", 'send the date as text, e.g. "2026-10-31"'
    elif not isinstance(value, str):
        got, fix = repr(value), "write the day as YYYY-MM-DD, e.g. 2026-10-31"
    else:
        got, fix = repr(value[:40]), _day_fix(value)
        if fix is None:
            return date.fromisoformat(value)
    raise ValueError(f"expected {DAY_EXPECTED}; got {got}; {fix}")


def _day_fix(text: str) -> str | None:
    """How to write `text` as the day it means (None: it is one)."""
    if text != text.strip():
        return "remove the spaces around the date"
    if _DAY.fullmatch(text):
        try:
            date.fromisoformat(text)
            return None
        except ValueError:
            return "no such day in the calendar: check the month and the day"
    if _DAY_AND_TIME.fullmatch(text):
        try:
            t = datetime.fromisoformat(text)
            day = (t.astimezone(UTC) if t.tzinfo else t).date().isoformat()
        except (ValueError, OverflowError):
            day = text[:10]
        return f"send the day alone, without a time: the day in UTC, e.g. {day}"
    m = _BASIC_DAY.fullmatch(text)
    if m:
        return f"write it with hyphens, YYYY-MM-DD: {m[1]}-{m[2]}-{m[3]}"
    return "write the day as YYYY-MM-DD, e.g. 2026-10-31"


@dataclass(frozen=True)
class ChurnEventIn:
    """One reported departure, pseudonymised: who (`customer_ref`), the day they left, and
    the caller's row number (0-based) for the report."""

    customer_ref: str
    left_on: date
    row: int


@dataclass(frozen=True)
class RowProblem:
    """Why one row was not recorded: expected / actual / fix in `problem`."""

    row: int
    field: str
    problem: str


PROBLEMS = {
    "unknown_customer": "the service holds no customer with this id: score them first, "
                        "or check the id",
    "erased": "the customer was erased at their request: nothing more is kept about them",
    "future_date": "left_on is after today (UTC): send a departure once it has happened",
    "duplicate_in_request": "the same customer and day appear earlier in this request: "
                            "send each departure once",
}


@dataclass
class EventCounts:
    """What a call recorded: `recorded` new events, `already_recorded` (a replay),
    `rejected` rows, each with its problem."""

    received: int = 0
    recorded: int = 0
    already_recorded: int = 0
    rejected: list[RowProblem] = field(default_factory=list)

    def as_dict(self) -> dict:
        by: dict[str, int] = {}
        for p in self.rejected:
            by[p.problem] = by.get(p.problem, 0) + 1
        return {"received": self.received, "recorded": self.recorded,
                "already_recorded": self.already_recorded, "rejected": len(self.rejected),
                "rejected_by_reason": by}


def pseudonymised(rows: Iterable[tuple[str, date]], secret: str) -> list[ChurnEventIn]:
    """(raw customer id, day left) pairs as events, numbered in order."""
    return [ChurnEventIn(pseudonymise(cid, secret), day, n)
            for n, (cid, day) in enumerate(rows)]


def record_churn_events(session: Session, events: Sequence[ChurnEventIn],
                        actor: Principal | str, *, source: str = "api",
                        today: date | None = None) -> EventCounts:
    """Validate and store churn events in one transaction, with one audit event of the
    counts (never an id). Rows that cannot be recorded are reported, each with its
    problem; the others are stored. Idempotent: a pair already stored is counted as
    `already_recorded`. The caller's session is committed."""
    today = today or datetime.now(UTC).date()
    counts = EventCounts(received=len(events))
    refs = [e.customer_ref for e in events]
    known = store.known_customers(session, refs)
    erased = store.erased_customers(session, refs)
    existing = store.recorded_events(session, refs)
    seen: set[tuple[str, date]] = set()
    fresh: list[ChurnEventIn] = []
    for e in events:
        key = (e.customer_ref, e.left_on)
        if e.customer_ref in erased:
            counts.rejected.append(RowProblem(e.row, "customer_id", "erased"))
        elif e.customer_ref not in known:
            counts.rejected.append(RowProblem(e.row, "customer_id", "unknown_customer"))
        elif e.left_on > today:
            counts.rejected.append(RowProblem(e.row, "left_on", "future_date"))
        elif key in seen:
            counts.rejected.append(RowProblem(e.row, "left_on", "duplicate_in_request"))
        elif key in existing:
            seen.add(key)
            counts.already_recorded += 1
        else:
            seen.add(key)
            fresh.append(e)
    now = datetime.now(UTC)
    who = actor.actor if isinstance(actor, Principal) else str(actor)
    rows = [{"id": i, "customer_ref": e.customer_ref, "left_on": e.left_on,
             "recorded_at": now, "recorded_by": who, "source": source}
            for i, e in zip(new_ids(len(fresh)), fresh, strict=True)]
    counts.recorded = store.insert_events(session, rows)
    counts.already_recorded += len(rows) - counts.recorded  # a concurrent replay
    audit.append(session, actor, audit.CHURN_EVENTS_RECORDED, objects={
        "source": source, "received": counts.received, "recorded": counts.recorded,
        "already_recorded": counts.already_recorded, "rejected": len(counts.rejected)})
    session.commit()
    return counts


LABEL_COLUMNS = ("prediction_id", "customer_ref", "model_name", "model_version", "scored_at",
                 "period", "score", "risk_band", "route_action", "source", "withdrawn", "arm",
                 "targeting", "uplift", "customer_value", "expected_value", "features",
                 "left_on", "label", "task_status",
                 "task_outcome", "restricted", "objected")


def label_of(scored_at: datetime, left: Sequence[date], horizon_days: int,
             now: datetime) -> tuple[float, date | None]:
    """(label, day left) of one prediction: 1 when the customer left on a day from the
    scoring day to `horizon_days` after it, 0 once that horizon has passed without it,
    NaN while it runs. A departure before the scoring day does not count (that prediction
    was made on a customer already gone: NaN, never a 0)."""
    start = scored_at.astimezone(UTC).date()
    end = start + timedelta(days=horizon_days)
    for day in left:
        if start <= day <= end:
            return 1.0, day
    if any(day < start for day in left):
        return float("nan"), None
    if now.astimezone(UTC).date() > end:
        return 0.0, None
    return float("nan"), None


def labelled_predictions(session: Session, horizon_days: int, *,
                         now: datetime | None = None, since: datetime | None = None,
                         until: datetime | None = None, model_version: str | None = None,
                         period: str = "month", decode_features: bool = True
                         ) -> pd.DataFrame:
    """One row per receipt (`LABEL_COLUMNS`), oldest first: who (pseudonym), which model,
    when, the score, band, route, arm and targeting rule (with the uplift estimate, the
    customer's value and the expected retained value under uplift targeting), the values
    the model read
    (`features`: a dict of decoded values), the observed label (`label_of`: 1, 0 or NaN),
    the task's status and agent outcome when the receipt opened one, and whether the
    customer is now restricted or objecting. `period`: the campaign period length the
    `period` column is cut by (`CHURN_CAMPAIGN_PERIOD`)."""
    now = now or datetime.now(UTC)
    rows = list(store.predictions(session, since, until, model_version))
    events = store.events_by_customer(session, sorted({r[1] for r in rows})) if rows else {}
    tasks = store.task_outcomes(session) if rows else {}
    flags = store.flagged_customers(session) if rows else {}
    records = []
    for (pid, ref, name, version, at, score, band, action, source, withdrawn, arm,
         targeting, uplift, value, expected, features) in rows:
        label, left = label_of(at, events.get(ref, ()), horizon_days, now)
        status, outcome = tasks.get(pid, (None, None))
        restricted, objected = flags.get(ref, (False, False))
        records.append((pid, ref, name, version, at, campaign_period(at, period), score, band,
                        action, source, bool(withdrawn), arm, targeting or "risk", uplift,
                        value, expected,
                        json.loads(features) if decode_features else features, left, label,
                        status, outcome, restricted, objected))
    df = pd.DataFrame.from_records(records, columns=list(LABEL_COLUMNS))
    df["label"] = df["label"].astype(np.float64)
    df["score"] = df["score"].astype(np.float64)
    df["uplift"] = df["uplift"].astype(np.float64)
    if len(df):
        df["scored_at"] = pd.to_datetime(df["scored_at"], utc=True)
    return df


def feature_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The `features` dicts of `labelled_predictions` as columns (one per feature)."""
    return pd.DataFrame.from_records(list(df["features"]), index=df.index)
