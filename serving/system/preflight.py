"""Start-up checks that fail fast with one clear line instead of a traceback.

`serve` runs `check(settings)` before uvicorn starts: the database must be reachable (waited
for at most `CHURN_DATABASE_WAIT_SECONDS`, for a server still starting) and writable (a
read-only file or server fails at once), and Redis, when `CHURN_REDIS_URL` is set, must
answer (checked again when the rate limits are built, `serving.auth.redislimit`). Each
failure is a
`StartupError` whose text is the one line the command prints.
"""

from __future__ import annotations

import time

from sqlalchemy.engine import make_url


class StartupError(RuntimeError):
    """The service cannot start; str(exc) is one line saying why and what to check."""


def shown_url(url: str) -> str:
    """A database or Redis URL as it may be printed (no password)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not an SQLAlchemy URL (redis://...)
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        return url


def check_database(url: str, wait_seconds: float) -> None:
    """The database at `url` can be written; retried while unreachable for at most
    `wait_seconds`; StartupError otherwise."""
    from serving.storage.health import UNREACHABLE, probe_url

    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        problem = probe_url(url, timeout=max(1.0, min(5.0, wait_seconds)))
        if problem is None:
            return
        kind, detail = problem
        if kind != UNREACHABLE or time.monotonic() >= deadline:
            waited = f" (waited {wait_seconds:g} s)" if kind == UNREACHABLE else ""
            raise StartupError(f"cannot start: the database at {shown_url(url)} is {kind}"
                               f"{waited}: {detail}")
        time.sleep(0.5)


def check(settings) -> None:  # noqa: ANN001 - serving.config.Settings
    """Everything `serve` needs before it starts (StartupError otherwise)."""
    check_database(settings.database_url, settings.database_wait_seconds)
    if settings.redis_url:
        from serving.auth.redislimit import redis_storage

        redis_storage(settings.redis_url, settings.redis_key_prefix)
