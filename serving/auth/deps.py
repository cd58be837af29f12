"""FastAPI dependencies: authenticate, then allow by role. Deny by default: every
router declares who may call it, and a route without a rule is refused by the tests."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from serving.auth.principal import Principal
from serving.auth.tokens import STAFF_PREFIX, LinkInvalid, hash_token, read_link, same_secret
from serving.auth.users import find_by_token
from serving.errors import Forbidden, NotAuthenticated, RateLimited

bearer = HTTPBearer(
    auto_error=False,
    description="Staff token (`make create-user`) or a customer access-link token.",
)


def _authenticate(request: Request, creds: HTTPAuthorizationCredentials | None) -> Principal:
    if creds is None or not creds.credentials:
        raise NotAuthenticated("send Authorization: Bearer <token>")
    token = creds.credentials
    settings = request.app.state.settings
    if settings.admin_token is not None and same_secret(
        token, settings.admin_token.get_secret_value()
    ):
        return Principal(kind="staff", role="admin", actor="admin:bootstrap")
    if token.startswith(STAFF_PREFIX):
        with request.app.state.db.session() as session:
            user = find_by_token(session, token)
        if user is None:
            raise NotAuthenticated("unknown or revoked staff token")
        return Principal(kind="staff", role=user.role, actor=f"staff:{user.id}", user_id=user.id)
    try:
        ref = read_link(token, settings.link_signing_secret)
    except LinkInvalid as exc:
        raise NotAuthenticated(str(exc)) from exc
    return Principal(kind="customer", role="customer", actor=f"customer:{ref}", customer_ref=ref)


def staff(*roles: str) -> Callable[..., Principal]:
    """Staff with one of `roles` (admin always). Customers 403, no token 401."""

    def dependency(
        request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        principal = _authenticate(request, creds)
        if principal.kind == "customer":
            raise Forbidden("a customer access link only opens the customer's own pages")
        if not principal.has_role(*roles):
            raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {principal.role}")
        return principal

    dependency.__name__ = f"staff_{'_'.join(roles)}"
    return dependency


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def customer_or_staff(*roles: str) -> Callable[..., Principal]:
    """A public customer route: the customer (own records only, rate limited per token and
    per client address; failed attempts count per client) or staff with one of `roles`
    (not limited)."""

    def dependency(
        request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        limits = request.app.state.limits
        try:
            principal = _authenticate(request, creds)
        except NotAuthenticated:
            # failed attempts count against the client too (no guessing links)
            wait = limits.client.hit(_client(request))
            if wait is not None:
                raise RateLimited("too many requests from this address",
                                  retry_after=wait) from None
            raise
        if principal.kind == "customer":
            wait = limits.client.hit(_client(request))
            if wait is not None:
                raise RateLimited("too many requests from this address", retry_after=wait)
            wait = limits.token.hit(hash_token(creds.credentials if creds else ""))
            if wait is not None:
                raise RateLimited("too many requests with this access link", retry_after=wait)
            return principal
        if not principal.has_role(*roles):
            raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {principal.role}")
        return principal

    dependency.__name__ = f"customer_or_{'_'.join(roles)}"
    return dependency


def customer_only() -> Callable[..., Principal]:
    inner = customer_or_staff()

    def dependency(
        request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        principal = inner(request, creds)
        if principal.kind != "customer":
            raise Forbidden("this route is for customers, through their access link")
        return principal

    return dependency
