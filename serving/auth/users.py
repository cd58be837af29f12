"""Staff users: created with a role, identified by a token shown once and stored hashed."""

from __future__ import annotations

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving.auth.principal import BOOTSTRAP_ACTOR, STAFF_ROLES
from serving.auth.tokens import hash_token, new_staff_token
from serving.storage.db import write_lock
from serving.storage.staff import name_key
from serving.storage.tables import StaffUser


def create_user(session: Session, name: str, role: str) -> tuple[StaffUser, str]:
    """Create a staff user; returns it and its token (the only time the token is seen)."""
    if role not in STAFF_ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(STAFF_ROLES)}")
    name = name.strip()
    if not name:
        raise ValueError("give the user a name (NAME=...)")
    token = new_staff_token()
    user = StaffUser(name=name, role=role, token_hash=hash_token(token), active=True)
    with write_lock(session):
        session.add(user)
        try:
            session.commit()
        except IntegrityError:  # the unique index on lower(name) (migration 0012)
            session.rollback()
            raise ValueError(f"a staff user is already called {name!r} (names are unique "
                             "whatever their case); choose another NAME") from None
    return user, token


def find_by_token(session: Session, token: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(StaffUser.token_hash == hash_token(token), StaffUser.active)
    ).first()


# Every staff request runs this: one Core statement, no ORM object (the ORM's per-query work
# cost several times the query itself). Read on every request, never cached, so a user made
# inactive is refused from their next request on.
_ACTIVE_BY_HASH = text("SELECT id, role FROM staff_users WHERE token_hash = :h AND active")


def active_by_token(conn: Connection | Session, token: str) -> tuple[str, str] | None:
    """(id, role) of the active staff user holding `token`, None if there is none."""
    row = conn.execute(_ACTIVE_BY_HASH, {"h": hash_token(token)}).first()
    return (row[0], row[1]) if row is not None else None


def still_active(session: Session, user_id: str, role: str) -> bool:
    """The user exists, is active and still has `role` (a page session re-checks this)."""
    user = session.get(StaffUser, user_id)
    return bool(user and user.active and user.role == role)


def display_names(session: Session, actors: list[str | None]) -> dict[str, str]:
    """"staff:<id>" -> the user's name (and the bootstrap admin), for showing who did what."""
    ids = {a.split(":", 1)[1] for a in actors if a and a.startswith("staff:")}
    names = {a: "administrator" for a in actors if a == BOOTSTRAP_ACTOR}
    if ids:
        for uid, name in session.execute(
                select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))):
            names[f"staff:{uid}"] = name
    return names


def active_agent(session: Session, to: str) -> str | None:
    """The actor ("staff:<id>") of the active agent (or admin) `to` names: their actor, or
    their name (unique whatever its case; "staff:<name>" too), else None."""
    if is_active_agent(session, to):
        return to
    name = name_key(to.removeprefix("staff:"))
    # compared here, not in SQL: SQLite's lower() folds ASCII only
    for user in session.scalars(select(StaffUser).where(StaffUser.active)):
        if name_key(user.name) == name and user.role in ("agent", "admin"):
            return f"staff:{user.id}"
    return None


def is_active_agent(session: Session, actor: str) -> bool:
    """`actor` ("staff:<id>") is an active user who may take retention tasks."""
    if not actor.startswith("staff:"):
        return False
    user = session.get(StaffUser, actor.split(":", 1)[1])
    return bool(user and user.active and user.role in ("agent", "admin"))
