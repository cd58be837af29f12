"""Keyed pseudonyms for customer ids (HMAC-SHA256).

Training and serving both pseudonymise with the same secret key, so the records
they keep can be joined without ever storing the raw id in a model, a run or a log.
"""

from __future__ import annotations

import hashlib
import hmac

PSEUDONYM_PREFIX = "cu_"


def pseudonymise(customer_id: str, key: bytes | str) -> str:
    """A stable pseudonym for `customer_id`; without `key` it cannot be reversed or guessed."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not key:
        raise ValueError("the pseudonymisation key is empty; set CHURN_PSEUDONYM_KEY")
    digest = hmac.new(key, str(customer_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]
