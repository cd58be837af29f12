"""Moving a database's records back in time: the figures of a period that has ended, made
through the API now (an outside auditor reads only ended quarters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from serving.analytics.periods import Quarter, last_ended
from serving.storage import Database
from serving.storage.tables import Base, UTCDateTime

# the audit chain hashes each event's time: moving it would break the chain's proof, and the
# periods read by the figures never look at it
KEEP = {"audit_log", "audit_head"}


def move_back(db: Database, delta: timedelta) -> None:
    """Every time stamp of every table but the audit chain's, `delta` earlier."""
    with db.session() as s:
        for mapper in Base.registry.mappers:
            if mapper.local_table.name in KEEP:
                continue
            names = [a.key for a in mapper.column_attrs
                     if isinstance(a.columns[0].type, UTCDateTime)]
            for row in s.scalars(select(mapper.class_)) if names else ():
                for name in names:
                    if (value := getattr(row, name)) is not None:
                        setattr(row, name, value - delta)
        s.commit()


def into_last_quarter(db: Database, now: datetime | None = None) -> Quarter:
    """Move what was written just now to the middle of the last ended quarter; returns it."""
    now = now or datetime.now(UTC)
    q = last_ended(now)
    move_back(db, now - (q.since + timedelta(days=45)))
    return q
