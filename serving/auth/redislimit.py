"""Rate limits shared by every replica: counted in Redis (CHURN_REDIS_URL) with the
`limits` library's fixed-window strategy, the same rule as the in-process counter
(`serving.auth.ratelimit.RateLimiter`): at most `limit` requests per key per window.

Redis unreachable at start: `StartupError` naming the URL (the service does not start
with limits it cannot keep). Redis failing later: each replica counts on its own until
Redis answers again (logged), so customers are neither refused nor left unlimited.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from serving.auth.ratelimit import RateLimiter
from serving.system.preflight import StartupError, shown_url

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 2.0  # connect and answer: a request never waits longer on Redis


def redis_storage(url: str, prefix: str) -> RedisStorage:
    """The Redis behind `url` (keys under `prefix`), checked now; StartupError when it
    cannot be reached."""
    try:
        storage = RedisStorage(url, key_prefix=prefix, wrap_exceptions=True,
                               socket_connect_timeout=TIMEOUT_SECONDS,
                               socket_timeout=TIMEOUT_SECONDS)
        storage.storage.ping()
    except Exception as exc:  # noqa: BLE001 - any failure: one line naming the URL
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise StartupError(f"cannot start: Redis at {shown_url(url)} (CHURN_REDIS_URL) "
                           f"cannot be reached: {first}") from None
    return storage


class SharedRateLimiter:
    """`RateLimiter.hit` counted in a `limits` storage shared by the replicas."""

    def __init__(self, storage: Storage, name: str, limit: int, window_seconds: int,
                 fallback: RateLimiter | None = None):
        self.limit = limit
        self.window = float(window_seconds)
        self.name = name
        self.item = RateLimitItemPerSecond(limit, int(window_seconds))
        self.strategy = FixedWindowRateLimiter(storage)
        self.fallback = fallback or RateLimiter(limit, window_seconds)
        self._warned = 0.0

    def hit(self, key: str) -> float | None:
        """Count one request; None when allowed, else the seconds until it would be."""
        try:
            if self.strategy.hit(self.item, self.name, key):
                return None
            reset = self.strategy.get_window_stats(self.item, self.name, key).reset_time
            return max(0.0, reset - time.time())
        except (StorageError, OSError) as exc:
            now = time.monotonic()
            if now - self._warned > 60:  # one line a minute while Redis is away
                self._warned = now
                log.warning("rate limits counted in this process only: Redis failed (%s)",
                            exc)
            return self.fallback.hit(key)

    @staticmethod
    def retry_after(seconds: float) -> str:
        return RateLimiter.retry_after(seconds)


def limiters(settings) -> tuple:  # noqa: ANN001 - serving.config.Settings
    """The (per access link, per client address) counters: in Redis when
    CHURN_REDIS_URL is set, else in this process."""
    window = settings.rate_limit_window_seconds
    if not settings.redis_url:
        return (RateLimiter(settings.rate_limit_per_token, window),
                RateLimiter(settings.rate_limit_per_client, window))
    storage = redis_storage(settings.redis_url, settings.redis_key_prefix)
    return (SharedRateLimiter(storage, "token", settings.rate_limit_per_token, window),
            SharedRateLimiter(storage, "client", settings.rate_limit_per_client, window))
