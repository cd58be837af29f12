"""Fixed-window request counting per key (customer token, client address).

In-process: with several API replicas each one counts on its own, so the effective
limit is the setting times the replica count; with CHURN_REDIS_URL set the replicas
share one count in Redis instead (`serving.auth.redislimit`).
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float, clock=time.monotonic):  # noqa: ANN001
        self.limit = limit
        self.window = float(window_seconds)
        self.clock = clock
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request; None when allowed, else the seconds until it would be."""
        now = self.clock()
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                return max(0.0, self.window - (now - start))
            self._counts[key] = (start, count + 1)
            if len(self._counts) > 100_000:
                self._counts = {
                    k: v for k, v in self._counts.items() if now - v[0] < self.window
                }
            return None

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
