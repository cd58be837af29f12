"""Opaque page keys, as every paged list (risk list, task queue, review queue) writes and
reads them: a list of values (times as ISO text) in URL-safe base64, and one refusal for
a key that is not one of ours, naming the query parameter, what was expected and the fix."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from serving.errors import InvalidInput, field_error


def encode(*parts: Any) -> str:
    """An opaque page key (times as ISO text)."""
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def refused(cursor: str) -> InvalidInput:
    """The 422 for a cursor that is not a page key of ours (or of this order)."""
    return InvalidInput.naming(
        "cursor is not valid; use the next_cursor of the previous page",
        [field_error(["query", "cursor"], "not valid", "a next_cursor value", cursor,
                     fix="Start again without a cursor.")])


def parts(cursor: str) -> list[Any]:
    """The values of a page key (`refused` when it is not one)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except Exception as exc:  # noqa: BLE001 - any undecodable text is not a key of ours
        raise refused(cursor) from exc
    if not isinstance(values, list) or not values:
        raise refused(cursor)
    return values
