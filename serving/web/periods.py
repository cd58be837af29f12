"""The scrutiny pages' period picker (contest analytics, compliance report): calendar
quarters. An outside auditor may read nothing else, and only quarters that have ended
(serving/analytics/periods.py says why); the operator's staff may also read all time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from serving.analytics import service
from serving.analytics.periods import Quarter, last_ended
from serving.auth.principal import Principal


@dataclass(frozen=True)
class Periods:
    """What the picker offers and which entry is chosen ("" for all time)."""

    quarters: list[Quarter]
    chosen: str
    outside: bool


def picker(session: Session, reader: Principal, quarter: str | None,
           now: datetime | None = None) -> Periods:
    """The ended quarters since the first dispute (the newest eight), the reader's choice
    (an auditor's default: the last ended quarter) and whether they are an outside reader."""
    now = now or datetime.now(UTC)
    quarters = service.quarters_on_offer(session, now)
    chosen = (quarter or "").strip()
    try:
        chosen = Quarter.parse(chosen).label if chosen else ""
    except ValueError:
        chosen = ""
    if reader.outside and not chosen:
        chosen = last_ended(now).label
    return Periods(quarters=quarters, chosen=chosen, outside=reader.outside)
