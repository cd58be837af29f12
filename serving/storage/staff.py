"""Staff users (issue 15 administration): typed reads and writes."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from serving.storage.bulk import RawWriter
from serving.storage.db import Database
from serving.storage.tables import StaffUser, utcnow


@dataclass(frozen=True)
class UserRow:
    id: str
    name: str
    role: str
    active: bool
    created_at: datetime


def _row(u: StaffUser) -> UserRow:
    return UserRow(u.id, u.name, u.role, bool(u.active), u.created_at)


def all_users(session: Session) -> list[UserRow]:
    return [_row(u) for u in session.scalars(select(StaffUser).order_by(StaffUser.name))]


def get(session: Session, user_id: str) -> UserRow | None:
    u = session.get(StaffUser, user_id, populate_existing=True)
    return _row(u) if u is not None else None


def name_key(name: str) -> str:
    """What makes two staff names the same name: the same letters whatever their case or
    their Unicode spelling ("Émile" and "émile", composed or not)."""
    return unicodedata.normalize("NFC", name.strip()).casefold()


def name_taken(session: Session, name: str, other_than: str | None = None) -> bool:
    """Whether another user has the same name (`name_key`). Compared here, not in SQL:
    SQLite's lower() folds ASCII letters only (the unique index on lower(name) is the
    last guard, for ASCII), so SQLite and PostgreSQL would disagree on "Émile"."""
    key = name_key(name)
    return any(name_key(n) == key
               for i, n in session.execute(select(StaffUser.id, StaffUser.name))
               if i != other_than)


def insert(session: Session, name: str, role: str, token_hash: str) -> UserRow:
    u = StaffUser(name=name, role=role, token_hash=token_hash, active=True, created_at=utcnow())
    session.add(u)
    session.flush()
    return _row(u)


def change(session: Session, user_id: str, **values: object) -> None:
    session.execute(update(StaffUser).where(StaffUser.id == user_id).values(**values))


def active_by_token_hash(db: Database, token_hash: str) -> tuple[str, str] | None:
    """(id, role) of the active staff user whose token hashes to `token_hash`, or None.

    Every staff request runs this (a user made inactive is refused from their next
    request on; the scoring fast path's memory of tokens is confirmed by each write,
    `active_by_token_hashes`), so it goes to the driver (`Database.read`): one indexed
    read, without SQLAlchemy's per-statement work (measured 5x the read itself)."""
    mark = "?" if db.dialect == "sqlite" else "%s"
    rows = db.read(f"SELECT id, role FROM staff_users WHERE token_hash = {mark} AND active",
                   (token_hash,))
    return (rows[0][0], rows[0][1]) if rows else None


def active_by_token_hashes(raw: RawWriter, token_hashes: Sequence[str]
                           ) -> dict[str, tuple[str, str]]:
    """token hash -> (id, role) of the active staff users among `token_hashes`, read in the
    transaction of `raw` (the online write confirms the tokens its predictions were let
    through on: `serving.auth.known`). One statement, none when there are no hashes."""
    hashes = sorted(set(token_hashes))
    if not hashes:
        return {}
    return {h: (i, r) for h, i, r in raw.fetchall(
        "SELECT token_hash, id, role FROM staff_users "
        f"WHERE token_hash IN ({raw.marks(len(hashes))}) AND active", tuple(hashes))}
