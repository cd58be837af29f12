"""The rules of staff administration. Admin only (the routes and pages check the role;
the CLI acts as the operator, `cli:<login>`).

An integration token (the customer portal's) mints any customer's access link, so whoever
is handed one can act as any customer. No staff role may mint a link itself, admin
included; so a staff admin may not hand themselves one either: creating an integration
account, giving a user that role, or rotating an integration account's token (each hands
out a token that mints links) is the operator's: on the command line (shell and database
access), or with the bootstrap admin token the operator set in the service's environment
(`CHURN_ADMIN_TOKEN`). A staff admin may still deactivate the portal's account: that hands
out nothing and stops it at once."""

from __future__ import annotations

import unicodedata

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import BOOTSTRAP_ACTOR, INTEGRATION, STAFF_ROLES, Principal
from serving.auth.tokens import hash_token, new_staff_token
from serving.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    field_error,
    must_find,
)
from serving.staff.schemas import StaffTokenPublic, StaffUserList, StaffUserPublic
from serving.storage import access as sessions
from serving.storage import staff as store
from serving.storage.db import write_lock


def operator(who: Principal | str) -> bool:
    """Whether `who` is the operator: the command line (`cli:<login>`, a string) or the
    bootstrap admin token from the service's environment."""
    return not isinstance(who, Principal) or who.actor == BOOTSTRAP_ACTOR


def roles_given_by(who: Principal | str) -> tuple[str, ...]:
    """The roles `who` may give (integration: only the operator)."""
    return STAFF_ROLES if operator(who) else tuple(r for r in STAFF_ROLES if r != INTEGRATION)


def _public(u: store.UserRow) -> StaffUserPublic:
    return StaffUserPublic(user_id=u.id, name=u.name, role=u.role, active=u.active,
                           created_at=u.created_at)


def _with_token(u: store.UserRow, token: str) -> StaffTokenPublic:
    return StaffTokenPublic(**_public(u).model_dump(), token=token)


def list_users(session: Session) -> StaffUserList:
    return StaffUserList(items=[_public(u) for u in store.all_users(session)])


def _operator_only(who: Principal | str, what: str) -> None:
    """Refuse `what` (which hands out an integration token) to anyone but the operator."""
    if not operator(who):
        raise Forbidden(
            f"{what}: an integration token mints any customer's access link, so only the "
            "operator hands one out: on the command line (python -m serving.cli "
            "create-user --role integration | rotate-token | set-role) or with the "
            "bootstrap admin token (CHURN_ADMIN_TOKEN); a staff admin may deactivate the "
            "account", reason="operator_only")


def create(session: Session, name: str, role: str, who: Principal | str) -> StaffTokenPublic:
    """A new user (names unique, whatever their case); the token is shown once."""
    given, name = name, unicodedata.normalize("NFC", name.strip())
    if not name:
        raise InvalidInput.naming("give the user a name", [field_error(
            ["body", "name"], "empty", "the user's name (unique whatever its case)",
            "only spaces" if given else "nothing",
            fix="Give the user a name, e.g. their first name and surname.")])
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(STAFF_ROLES)}")
    if role == INTEGRATION:
        _operator_only(who, "an integration account is created by the operator")
    token = new_staff_token()
    taken = Conflict(f"a staff user is already called {name!r} (names are unique whatever "
                     "their case); choose another name, e.g. with a surname or team",
                     reason="name_taken")
    with write_lock(session):
        if store.name_taken(session, name):
            session.rollback()
            raise taken
        try:
            user = store.insert(session, name, role, hash_token(token))
        except IntegrityError:  # the unique index: a concurrent create of the same name
            session.rollback()
            raise taken from None
        audit.append(session, who, audit.STAFF_CHANGED,
                     objects={"user_id": user.id, "change": "created", "role": role})
        session.commit()
    return _with_token(user, token)


def _user(session: Session, user_id: str) -> store.UserRow:
    return must_find(store.get(session, user_id), "no such staff user")


def deactivate(session: Session, user_id: str, who: Principal | str) -> StaffUserPublic:
    """The user's token stops working and their live sessions end now."""
    with write_lock(session):
        user = _user(session, user_id)
        store.change(session, user_id, active=False)
        ended = sessions.revoke_user_sessions(session, user_id)
        audit.append(session, who, audit.STAFF_CHANGED,
                     objects={"user_id": user_id, "change": "deactivated",
                              "sessions_ended": ended})
        session.commit()
    return _public(_user(session, user.id))


def rotate_token(session: Session, user_id: str, who: Principal | str) -> StaffTokenPublic:
    """A new token; the old one and the user's sessions stop working now."""
    token = new_staff_token()
    with write_lock(session):
        if _user(session, user_id).role == INTEGRATION:
            _operator_only(who, "an integration account's token is rotated by the operator")
        store.change(session, user_id, token_hash=hash_token(token))
        ended = sessions.revoke_user_sessions(session, user_id)
        audit.append(session, who, audit.STAFF_CHANGED,
                     objects={"user_id": user_id, "change": "token_rotated",
                              "sessions_ended": ended})
        session.commit()
    return _with_token(_user(session, user_id), token)


def change_role(session: Session, user_id: str, role: str,
                who: Principal | str) -> StaffUserPublic:
    """Another role; the user's sessions end (they sign in again with the new role)."""
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(STAFF_ROLES)}")
    if role == INTEGRATION:
        _operator_only(who, "the integration role is given by the operator")
    with write_lock(session):
        before = _user(session, user_id)
        store.change(session, user_id, role=role)
        sessions.revoke_user_sessions(session, user_id)
        audit.append(session, who, audit.STAFF_CHANGED,
                     objects={"user_id": user_id, "change": "role_changed",
                              "from": before.role, "to": role})
        session.commit()
    return _public(_user(session, user_id))


def find_by_name(session: Session, name: str) -> store.UserRow:
    for u in store.all_users(session):
        if store.name_key(u.name) == store.name_key(name):
            return u
    raise NotFound(f"no staff user is called {name!r}")
