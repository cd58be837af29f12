"""Token formats.

Staff: ``st_<random>``; only its sha256 is stored. Customers: a signed (itsdangerous,
HMAC) payload naming one customer pseudonym and an expiry; nothing is stored, so the
raw customer id never appears in a token.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

STAFF_PREFIX = "st_"
_LINK_SALT = "churn.customer-access.v1"


def new_staff_token() -> str:
    return STAFF_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=256)
def presented_hash(token: str) -> str:
    """`hash_token` of a token presented to authenticate, remembered for the tokens seen
    most recently (the few staff and service tokens that call all day): the digest is
    only what the lookup looks for, never a decision, so a revoked token is still refused
    by the lookup on its next request."""
    return hash_token(token)


@dataclass(frozen=True)
class AccessLink:
    customer_ref: str
    token: str
    expires_at: datetime


def issue_link(customer_ref: str, secret: str, ttl: timedelta,
               now: datetime | None = None) -> AccessLink:
    now = now or datetime.now(UTC)
    expires = (now + ttl).replace(microsecond=0)
    token = URLSafeSerializer(secret, salt=_LINK_SALT).dumps(
        {"c": customer_ref, "exp": int(expires.timestamp()), "n": secrets.token_hex(4)}
    )
    return AccessLink(customer_ref=customer_ref, token=token, expires_at=expires)


class LinkInvalid(ValueError):
    pass


def read_link(token: str, secret: str, now: datetime | None = None) -> str:
    """The customer pseudonym a link is scoped to; raises `LinkInvalid` if forged or expired."""
    try:
        payload = URLSafeSerializer(secret, salt=_LINK_SALT).loads(token)
    except BadSignature as exc:
        raise LinkInvalid("the access token is not valid") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
        raise LinkInvalid("the access token is not valid")
    now = now or datetime.now(UTC)
    if int(payload.get("exp", 0)) <= now.timestamp():
        raise LinkInvalid("the access link has expired; ask the retention team for a new one")
    return payload["c"]
