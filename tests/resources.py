"""What some suites need from the machine: a PostgreSQL server, a Redis server and a
Chromium browser.

A test needs PostgreSQL when it is marked `postgres` or uses the `pg_database` fixture; it
needs Chromium when it is marked `browser` or uses the `browser`/`page` fixtures. When one
is missing, those tests are skipped (before any fixture is built) and the end of the run
names the suites left out and the one line that enables each (see `summary`). With
`CHURN_REQUIRE_ALL=1`, as `.ci/run` sets it, a missing one fails those tests instead, so
nothing is skipped silently in CI.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHURN_CHROMIUM", "/usr/bin/chromium")
PROPERTY = "churn_left_out"  # user property of a test left out: (PROPERTY, "key|why")


def require_all() -> bool:
    return os.environ.get("CHURN_REQUIRE_ALL", "").strip().lower() not in ("", "0", "false",
                                                                           "no")


def _probe_postgres() -> str | None:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from tests.postgres import PG_ADMIN_URL

    shown = sa.engine.make_url(PG_ADMIN_URL).render_as_string(hide_password=True)
    try:
        engine = sa.create_engine(PG_ADMIN_URL, poolclass=NullPool,
                                  connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return f"no usable server at {shown} ({first[:160]})"
    return None


REDIS_URL = os.environ.get("CHURN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _probe_redis() -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed (make install)"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        return f"no usable server at {REDIS_URL} ({str(exc)[:160]})"
    return None


def _probe_chromium() -> str | None:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} not found"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (make install)"
    return None


@dataclass
class Resource:
    key: str
    title: str
    suites: str  # what is left out without it, in words
    marker: str
    fixtures: frozenset[str]
    enable: str  # the one line that enables it
    alternative: str
    probe: Callable[[], str | None]
    _checked: bool = field(default=False, repr=False)
    _why: str | None = field(default=None, repr=False)

    def missing(self) -> str | None:
        """None when present, else why not (probed once per process)."""
        if not self._checked:
            self._why = self.probe()
            self._checked = True
        return self._why

    def needed_by(self, item: pytest.Item) -> bool:
        return (item.get_closest_marker(self.marker) is not None
                or bool(self.fixtures & set(getattr(item, "fixturenames", ()))))

    def require(self, node: pytest.Item | None) -> None:
        """Skip (or, with CHURN_REQUIRE_ALL=1, fail) the test when the resource is missing."""
        _require([self], node)


def _require(needed: list[Resource], node: pytest.Item | None) -> None:
    missing = [(r, why) for r in needed if (why := r.missing()) is not None]
    if not missing:
        return
    if node is not None:
        for r, why in missing:
            if not any(name == PROPERTY and value.startswith(r.key + "|")
                       for name, value in node.user_properties):
                node.user_properties.append((PROPERTY, f"{r.key}|{why}"))
    message = "; ".join(f"{r.title}: {why}. Enable: {r.enable}" for r, why in missing)
    if require_all():
        pytest.fail(f"CHURN_REQUIRE_ALL=1 and {message}", pytrace=False)
    pytest.skip(message)


RESOURCES = (
    Resource(
        key="postgresql", title="PostgreSQL",
        suites="every storage, API and page test on PostgreSQL, the two replicas, the "
               "PostgreSQL load run",
        marker="postgres", fixtures=frozenset({"pg_database"}),
        enable="docker run -d --name churn-pg -p 5432:5432 "
               "-e POSTGRES_HOST_AUTH_METHOD=trust postgres:16",
        alternative="or: export CHURN_TEST_PG_URL=postgresql+psycopg://user:password@host:5432/"
                    "postgres (a role that may create databases)",
        probe=_probe_postgres),
    Resource(
        key="redis", title="Redis",
        suites="rate limits shared by replicas in Redis (CHURN_REDIS_URL)",
        marker="redis", fixtures=frozenset({"redis_url"}),
        enable="redis-server --daemonize yes --port 6379 --save '' --appendonly no",
        alternative="or: export CHURN_TEST_REDIS_URL=redis://host:6379/0",
        probe=_probe_redis),
    Resource(
        key="chromium", title="Chromium",
        suites="the browser tests, staff and customer pages driven in headless Chromium",
        marker="browser", fixtures=frozenset({"browser", "page"}),
        enable="sudo apt-get install -y chromium",
        alternative="or: export CHURN_CHROMIUM=/path/to/chromium-or-chrome",
        probe=_probe_chromium),
)
BY_KEY = {r.key: r for r in RESOURCES}


def check(item: pytest.Item) -> None:
    """Before a test's fixtures are built: skip or fail it if it needs a missing resource."""
    _require([r for r in RESOURCES if r.needed_by(item)], item)


def summary(terminalreporter: pytest.TerminalReporter) -> None:
    """At the end of the run: which suites were left out, why, and how to enable them."""
    left: dict[str, tuple[set[str], str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name != PROPERTY:
                    continue
                key, _, why = value.partition("|")
                nodes, _ = left.setdefault(key, (set(), why))
                nodes.add(report.nodeid)
    if not left:
        return
    strict = require_all()
    tr = terminalreporter
    tr.section("suites that could not run: FAILED (CHURN_REQUIRE_ALL=1)" if strict
               else "suites left out", sep="=", red=strict, yellow=not strict, bold=True)
    for resource in RESOURCES:
        if resource.key not in left:
            continue
        nodes, why = left[resource.key]
        count = f"{len(nodes)} test{'s' if len(nodes) != 1 else ''}"
        verb = "failed" if strict else "skipped"
        tr.write_line(f"{resource.title}: {count} {verb}: {resource.suites}.")
        tr.write_line(f"  why:     {why}")
        tr.write_line(f"  enable:  {resource.enable}")
        tr.write_line(f"           {resource.alternative}")
    if not strict:
        tr.write_line("CI sets CHURN_REQUIRE_ALL=1 (.ci/run): there a missing suite fails the run.")
