"""Access links and customer sessions (issue 15): the rules.

A link is a random secret (`cl_...`) kept only by its hash. It goes to the customer,
never to staff: the integration role (the business's own portal) may mint one; agents
and reviewers may only have one *sent* to the contact address, which they never see.
A link is exchanged once for a server-side session (`cs_...`) and is dead from then on;
it expires (`CHURN_LINK_TTL_HOURS`) and is revoked by a newer sign-out-all or erasure.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.auth.tokens import hash_token
from serving.config import Settings
from serving.errors import NotAuthenticated
from serving.storage import access as store
from serving.storage.db import write_lock

LINK_PREFIX = "cl_"
SESSION_PREFIX = "cs_"


@dataclass(frozen=True)
class MintedLink:
    id: str
    token: str
    url: str
    expires_at: datetime


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url}/me?token={token}"


def mint(session: Session, settings: Settings, customer_ref: str, channel: str,
         issued_by: str) -> MintedLink:
    """A new link row in the caller's transaction; the token is seen only here."""
    token = LINK_PREFIX + secrets.token_urlsafe(32)
    expires = (datetime.now(UTC) + timedelta(hours=settings.link_ttl_hours)).replace(
        microsecond=0)
    link_id = store.insert_link(session, customer_ref, hash_token(token), channel, issued_by,
                                expires)
    return MintedLink(link_id, token, link_url(settings, token), expires)


@dataclass(frozen=True)
class CustomerSession:
    token: str
    id: str
    customer_ref: str
    link_id: str
    expires_at: datetime


def exchange(session: Session, settings: Settings, link_token: str) -> CustomerSession:
    """Exchange a live link for a customer session (live `CHURN_CUSTOMER_SESSION_HOURS`),
    once: the link is dead afterwards.
    401 when unknown, used, revoked or expired (one answer: nothing to learn)."""
    link_token = (link_token or "").strip()
    bad = NotAuthenticated("this link is not valid: it was used already, revoked or has "
                           "expired; ask for a new one")
    if not link_token.startswith(LINK_PREFIX):
        raise bad
    with write_lock(session):
        link = store.link_by_hash(session, hash_token(link_token), lock=True)
        now = datetime.now(UTC)
        if (link is None or link.used_at is not None or link.revoked_at is not None
                or link.expires_at <= now):
            session.rollback()
            raise bad
        if not store.use_link(session, link.id):
            session.rollback()
            raise bad
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        expires = now + timedelta(hours=settings.customer_session_hours)
        sid = store.insert_session(session, hash_token(token), "customer", expires,
                                   customer_ref=link.customer_ref, link_id=link.id)
        principal = Principal(kind="customer", role="customer",
                              actor=f"customer:{link.customer_ref}",
                              customer_ref=link.customer_ref, session_id=sid,
                              link_id=link.id)
        audit.append(session, principal, audit.SESSION_OPENED,
                     customer_ref=link.customer_ref,
                     objects={"session_id": sid, "link_id": link.id,
                              "link_channel": link.channel, "link_issued_by": link.issued_by})
        session.commit()
    return CustomerSession(token, sid, link.customer_ref, link.id, expires)


def customer_principal(conn, token: str) -> Principal | None:  # noqa: ANN001
    """The customer of a live session token, None when it is not one."""
    row = store.live_session(conn, hash_token(token))
    if row is None or row.kind != "customer" or not row.customer_ref:
        return None
    return Principal(kind="customer", role="customer", actor=f"customer:{row.customer_ref}",
                     customer_ref=row.customer_ref, session_id=row.id, link_id=row.link_id)


def sign_out(session: Session, token: str, principal: Principal | None = None) -> None:
    """Revoke the session holding `token` (customer API or a page's cookie)."""
    with write_lock(session):
        if store.revoke_session(session, hash_token(token)) and principal is not None:
            audit.append(session, principal, audit.SESSION_CLOSED,
                         customer_ref=principal.customer_ref,
                         objects={"session_id": principal.session_id})
        session.commit()


def revoke_links(session: Session, customer_ref: str, principal: Principal) -> tuple[int, int]:
    """Revoke every unused link of the customer and end the sessions their links opened
    (a link that reached the wrong person would otherwise keep its session for hours);
    audited. (links revoked, sessions ended)."""
    with write_lock(session):
        n = store.revoke_links(session, customer_ref)
        ended = store.revoke_customer_sessions(session, customer_ref)
        audit.append(session, principal, audit.ACCESS_LINKS_REVOKED, customer_ref=customer_ref,
                     objects={"revoked": n, "sessions_ended": ended})
        session.commit()
    return n, ended


def origin(session: Session, principal: Principal) -> dict[str, str | None]:
    """Where a customer action came from: the session, its link and who issued it (for
    the audit log and the customer's history)."""
    link = store.link(session, principal.link_id)
    return {"session_id": principal.session_id, "link_id": principal.link_id,
            "link_issued_by": link.issued_by if link else None,
            "link_channel": link.channel if link else None}
