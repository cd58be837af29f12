"""`Idempotency-Key`: the one rule of every write a client may safely repeat.

A client that sent a write and got no answer (a timeout, a dropped connection, a 503
`write_unconfirmed`) cannot tell whether it was stored. Sent again with the same key and
the same body, the write is done at most once and the repeat answers what the first one
stored (200 instead of 201); the same key with another body is refused (422
`idempotency_key_reused`), since answering the first request's result to a different
question would mislead. Disputes (`serving.disputes.service`) and predictions
(`serving.scoring.service`) apply this rule; each stores the key in the write's own
transaction, so the key and what it stored are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from serving.errors import Conflict, FieldError, InvalidInput, field_error

KEY_MAX = 200  # characters of a key (Stripe's limit is 255; ours predates this module)
HEADER = "Idempotency-Key"
HEADER_DOC = ("Same key + same body: the write is done once and a repeat answers what it "
              "stored (200); same key + another body: 422 idempotency_key_reused")


class IdempotencyMismatch(InvalidInput, code="idempotency_key_reused"):
    """The key was used before with another request body."""


class KeyExpired(Conflict, code="idempotency_key_expired"):
    """What the key stored is gone (erased at the customer's request, or purged when its
    retention period ended): the first answer cannot be given again."""

    @classmethod
    def gone(cls, missing: int) -> KeyExpired:
        return cls(f"{missing} of the receipts stored under this {HEADER} no longer exist "
                   "(erased at the customer's request, or purged at the end of their "
                   "retention period), so the first answer cannot be given again; send "
                   "a new key to score again")


def clean_key(raw: str | None) -> str | None:
    """The key as the header gave it, without surrounding blanks; None when absent or
    blank (a blank header is no key). Longer than `KEY_MAX` as sent: `InvalidInput`."""
    if raw is not None and len(raw) > KEY_MAX:  # as the routes' `Header(max_length=)`
        raise InvalidInput.naming(
            f"{HEADER} is longer than {KEY_MAX} characters",
            [field_error(["header", HEADER], "too long", f"at most {KEY_MAX} characters",
                         f"{len(raw)} characters",
                         "Use a shorter key, e.g. a UUID (36 characters).", field=HEADER)])
    return (raw or "").strip() or None


def scoped(scope: str, key: str) -> str:
    """The stored form of `key` for the caller `scope`: keys are the caller's own (two
    integrations may both use "retry-1"), and the raw key is not kept."""
    return hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


def digest(data: Any) -> str:
    """The sha256 of `data` written canonically: keys sorted, no spaces, and every finite
    number as a float, so that a repeat serialised by another library (`10` for `10.0`,
    another key order) is still the same body. Data that cannot be written as JSON gets a
    digest of its own, which no stored key has."""
    try:
        canonical = json.dumps(_numbers_as_floats(data), sort_keys=True,
                               separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        canonical = "unserialisable body"
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _numbers_as_floats(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        try:
            f = float(value)
        except OverflowError:  # an integer no float holds is its own value
            return str(value)
        return f if math.isfinite(f) else str(value)
    if isinstance(value, dict):
        return {str(k): _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers_as_floats(v) for v in value]
    return value


def mismatch(what: str) -> IdempotencyMismatch:
    """The refusal of a key already used with another body (`what`: a new dispute, ...)."""
    error: FieldError = field_error(
        ["header", HEADER], "key reused with another body",
        "the same body as the first request with this key", "a different body",
        "Use a new key for a new request.", field=HEADER)
    return IdempotencyMismatch.naming(
        f"this {HEADER} was already used with another request body; send a new key for "
        f"{what}", [error])
