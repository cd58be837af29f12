"""What a score is ranked against when pages word it ("higher than 9 in 10 customers"):
the served model's out-of-fold training scores when its spec carries them, else a sample
of the customers' latest stored scores (cached a short while per process)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from models import wording
from serving.storage import Database, scores

SAMPLE = 20_000  # stored scores read at most (a uniform sample along the primary key)
TTL_SECONDS = 60.0

_lock = threading.Lock()
_stored: dict[str, tuple[float, list[float]]] = {}  # database url -> (read at, sorted)


def stored_reference(db: Database) -> list[float]:
    """A sorted sample of the customers' latest scores, read at most once a minute."""
    key = str(db.engine.url)
    now = time.monotonic()
    with _lock:
        hit = _stored.get(key)
        if hit is not None and now - hit[0] < TTL_SECONDS:
            return hit[1]
    with db.session() as session:
        values = sorted(scores.latest_scores_sample(session, SAMPLE))
    with _lock:
        _stored[key] = (now, values)
    return values


def forget() -> None:
    """Drop the cached samples (tests)."""
    with _lock:
        _stored.clear()


def reference(db: Database, spec_reference: list[float] | None) -> list[float]:
    """The model's reference when it has one, else the stored scores'."""
    if spec_reference:
        return sorted(spec_reference)
    return stored_reference(db)


def wording_for(db: Database, spec_reference: Callable[[], list[float] | None],
                lang: str) -> Callable[[float | None], str]:
    """`models.wording.describe` in `lang` against the reference, read on first use only
    (a page without a score reads nothing)."""
    cache: list[list[float]] = []

    def words(p: float | None) -> str:
        if p is None:
            return ""
        if not cache:
            try:
                cache.append(reference(db, spec_reference()))
            except Exception:  # noqa: BLE001 - the words must never break a page
                cache.append([])
        return wording.describe(float(p), cache[0], lang)

    return words
