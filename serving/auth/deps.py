"""Who is calling: a token turned into a `Principal`, the rules on roles, and the rate
limits of customer routes. Plain functions of their inputs: `serving.deps` makes them
FastAPI dependencies (deny by default: every route declares who may call it, and a route
without a rule is refused by the tests); the pages (`serving.web`) use them too."""

from __future__ import annotations

import functools
import hmac

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from serving.auth.principal import BOOTSTRAP_ACTOR, Principal
from serving.auth.redislimit import limiters
from serving.auth.tokens import STAFF_PREFIX, hash_token, presented_hash
from serving.auth.users import active_by_token
from serving.config import Settings
from serving.errors import STAFF_TOKEN_REFUSED, Forbidden, NotAuthenticated, RateLimited
from serving.storage import Database
from serving.storage import staff as staff_store

LINK_PREFIX, SESSION_PREFIX = "cl_", "cs_"  # serving.customers.access
ADMIN = Principal(kind="staff", role="admin", actor=BOOTSTRAP_ACTOR)


class Limits:
    """The request counters of customer routes: per access link, per client address."""

    def __init__(self, settings: Settings):
        # in Redis when CHURN_REDIS_URL is set (shared by the replicas), else in-process
        self.token, self.client = limiters(settings)


def is_admin_token(token: str, settings: Settings) -> bool:
    """Whether `token` is the bootstrap admin token: compared by digest, in constant
    time (both digests remembered, not recomputed on every request)."""
    return settings.admin_token is not None and hmac.compare_digest(
        presented_hash(token), presented_hash(settings.admin_token.get_secret_value()))


def staff_by_token(session: Session | Connection, token: str) -> Principal | None:
    """The active staff user holding `token`, as a principal."""
    found = active_by_token(session, token)
    return None if found is None else staff_principal(*found)


@functools.lru_cache(maxsize=256)
def staff_principal(user_id: str, role: str) -> Principal:
    """The principal of an active staff user with `role` (immutable: one per user and role
    is kept, not rebuilt on every request; whether the user is active is read each time)."""
    return Principal(kind="staff", role=role, actor=f"staff:{user_id}", user_id=user_id)


def authenticate(token: str | None, settings: Settings, db: Database) -> Principal:
    """The admin (bootstrap token), a staff user (`st_` token) or a customer (a session
    opened with their access link, `cs_`); 401 otherwise (a link itself included)."""
    if not token:
        raise NotAuthenticated("send Authorization: Bearer <token>")
    if is_admin_token(token, settings):
        return ADMIN
    if token.startswith(STAFF_PREFIX):
        found = staff_store.active_by_token_hash(db, presented_hash(token))
        if found is None:
            raise NotAuthenticated(STAFF_TOKEN_REFUSED)
        return staff_principal(*found)
    if token.startswith(SESSION_PREFIX):
        from serving.customers.access import customer_principal

        with db.engine.connect() as conn:
            principal = customer_principal(conn, token)
        if principal is None:
            raise NotAuthenticated("this session has ended (signed out, expired or revoked); "
                                   "open a new link")
        return principal
    if token.startswith(LINK_PREFIX):
        raise NotAuthenticated("an access link is exchanged once for a session: "
                               "POST /v1/sessions {\"link\": ...}, then use its token")
    raise NotAuthenticated("unknown token")


def roles_text(roles: tuple[str, ...]) -> str:
    return " or ".join(roles)


def require_staff(principal: Principal, roles: tuple[str, ...]) -> Principal:
    """Staff with one of `roles` (admin always); a customer link 403."""
    if principal.kind == "customer":
        raise Forbidden("a customer access link only opens the customer's own pages")
    return require_role(principal, roles)


def require_role(principal: Principal, roles: tuple[str, ...]) -> Principal:
    if not principal.has_role(*roles):
        raise Forbidden(f"this needs the role {roles_text(roles)}; you are {principal.role}")
    return principal


def count_client(limits: Limits, client: str) -> None:
    """One more request from this address (failed attempts count too: no guessing links)."""
    wait = limits.client.hit(client)
    if wait is not None:
        raise RateLimited("too many requests from this address", retry_after=wait)


def count_link(limits: Limits, key: str) -> None:
    """One more request with this access link (`key`: its hash, or the page session)."""
    wait = limits.token.hit(key)
    if wait is not None:
        raise RateLimited("too many requests with this access link", retry_after=wait)


def customer_or_staff(token: str | None, client: str, settings: Settings, db: Database,
                      limits: Limits, roles: tuple[str, ...]) -> Principal:
    """A public customer route: the customer (own records only, rate limited per token
    and per client address; failed attempts count per client) or staff with one of
    `roles` (not limited)."""
    try:
        principal = authenticate(token, settings, db)
    except NotAuthenticated:
        count_client(limits, client)
        raise
    if principal.kind == "customer":
        count_client(limits, client)
        count_link(limits, hash_token(token or ""))
        return principal
    return require_role(principal, roles)
