"""Keyed pseudonyms for customer ids (HMAC-SHA256).

Training and serving both pseudonymise with the same secret key, so the records
they keep can be joined without ever storing the raw id in a model, a run or a log.
"""

from __future__ import annotations

import hashlib
import hmac

PSEUDONYM_PREFIX = "cu_"
# The public development key, the one definition training and serving both import, so
# pseudonyms agree between them in development. Never used when CHURN_MODE=production
# (both sides refuse to start without a real CHURN_PSEUDONYM_KEY).
DEV_PSEUDONYM_KEY = "dev-only-pseudonym-key-change-me"


class Pseudonymiser:
    """Pseudonymises many ids with one key (the keyed HMAC state is prepared once)."""

    def __init__(self, key: bytes | str):
        if isinstance(key, str):
            key = key.encode("utf-8")
        if not key:
            raise ValueError("the pseudonymisation key is empty; set CHURN_PSEUDONYM_KEY")
        self._base = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, customer_id: str) -> str:
        h = self._base.copy()
        h.update(str(customer_id).encode("utf-8"))
        return PSEUDONYM_PREFIX + h.hexdigest()[:32]


def pseudonymise(customer_id: str, key: bytes | str) -> str:
    """A stable pseudonym for `customer_id`; without `key` it cannot be reversed or guessed."""
    return Pseudonymiser(key)(customer_id)
