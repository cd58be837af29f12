"""Server-side staff sessions for the pages (issue 15): the cookie holds a random secret
whose hash names a row; sign-out revokes the row, deactivating the user revokes all of
theirs, so a replayed cookie is refused."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.auth.tokens import hash_token
from serving.storage import access as store
from serving.storage.db import write_lock

STAFF_SESSION_PREFIX = "ss_"


def open_staff(session: Session, principal: Principal, hours: float) -> str:
    """A new staff session for `principal`, live for `hours` (`CHURN_STAFF_SESSION_HOURS`);
    returns its secret (for the cookie)."""
    token = STAFF_SESSION_PREFIX + secrets.token_urlsafe(32)
    with write_lock(session):
        store.insert_session(session, hash_token(token), "staff",
                             datetime.now(UTC) + timedelta(hours=hours),
                             user_id=principal.user_id, role=principal.role,
                             customer_ref=None, link_id=None)
        audit.append(session, principal, audit.SESSION_OPENED,
                     objects={"session": "staff page"})
        session.commit()
    return token


def staff_live(conn: Connection | Session, token: str | None) -> bool:
    if not token:
        return False
    row = store.live_session(conn, hash_token(token))
    return row is not None and row.kind == "staff"


def close(session: Session, token: str | None, who: Principal | None = None) -> None:
    """End the staff session holding `token` (audited under `who`, who signed out)."""
    if not token:
        return
    with write_lock(session):
        if store.revoke_session(session, hash_token(token)) and who is not None:
            audit.append(session, who, audit.SESSION_CLOSED,
                         objects={"session": "staff page"})
        session.commit()
