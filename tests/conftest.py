"""Fixtures every suite shares (the database a test runs against), and what the suites
need from the machine: without a PostgreSQL server or Chromium the tests needing them are
skipped and the run ends by saying so (tests/resources.py); `CHURN_REQUIRE_ALL=1` (CI)
makes their absence a failure. `make test` runs on two pytest-xdist workers: the hooks below
tell the scheduler which tests share a worker (tests/parallel.py), and a test that does not
drive the browser closes it first (tests/chromium.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import artefacts, chromium, databases, parallel, resources
from tests.postgres import empty_database, temporary_database

# The control group (issue 17) holds out a random tenth of the customers a high score would
# send to an agent. Suites written about other things expect every high score to open a
# task, so they run without it; tests/serving/loop/ sets its own fraction (and checks the
# 0.10 default). Set here, before any Settings is read, so servers the suites start inherit it.
os.environ.setdefault("CHURN_CONTROL_FRACTION", "0")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    resources.check(item)
    if not resources.BY_KEY["chromium"].needed_by(item):
        chromium.close()  # the browser tests are done here for now (tests/chromium.py)


def pytest_sessionfinish() -> None:
    chromium.close()


@pytest.hookimpl(trylast=True)  # once the tests are selected and ordered
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, tell the scheduler which tests share a worker (tests/parallel.py)."""
    parallel.write_plan(config, items)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadgroup` that works on pytest 9.2 (tests/parallel.py says why)."""
    return parallel.make_scheduler(config, log)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """Last of the summaries, just above the totals: the suites left out and how to enable
    them."""
    yield
    resources.summary(terminalreporter)


# What the product writes into its checkout when run (`make run`, `make train`), and MLflow
# into the working folder when a run has no artifact location: a test writes none of them.
_CHECKOUT = Path(__file__).resolve().parents[1]
_PRODUCT_FILES = ("mlruns", "mlartifacts", "mlflow.db", "var", "reports")


@pytest.fixture(autouse=True)
def _nothing_written_into_the_checkout() -> Iterator[None]:
    """Fail the test that first writes one of `_PRODUCT_FILES` into the checkout (those
    already there, from the user's own runs, are left alone)."""
    before = {name for name in _PRODUCT_FILES if (_CHECKOUT / name).exists()}
    yield
    written = [name for name in _PRODUCT_FILES
               if name not in before and (_CHECKOUT / name).exists()]
    if written:
        pytest.fail(f"this test wrote {', '.join(written)} into the checkout ({_CHECKOUT}): "
                    "expected every file under the test's temporary folder; give the "
                    "command its settings (tracking URI, artifact root, reports, database)")


@pytest.fixture(scope="session", autouse=True)
def _new_mlflow_stores_from_a_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """New local MLflow stores get their tables copied from one MLflow made once per run
    (tests/artefacts.py), where the suites have loaded MLflow."""
    if "mlflow" not in sys.modules:
        yield
        return
    undo = artefacts.new_stores_from_a_template(tmp_path_factory)
    yield
    undo()


@pytest.fixture(scope="session")
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A uniquely named PostgreSQL database for this session, dropped at the end."""
    # a test reaching it unmarked (getfixturevalue) is caught here
    resources.BY_KEY["postgresql"].require(getattr(request, "_pyfuncitem", None))
    with temporary_database("churn_test") as url:
        yield url


# The fixtures after which a test's database is migrated anyway (`db` migrates it; the apps,
# batch runs and commands built from `settings` migrate it at start).
MIGRATING_FIXTURES = frozenset({"db", "settings"})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or the session's PostgreSQL database emptied.

    For a test that also uses `db` or `settings`, it is fresh and already migrated to head
    (tests/databases.py): what their migration at start would make, without repeating the
    migrations for each of those tests."""
    if MIGRATING_FIXTURES.isdisjoint(request.fixturenames):
        return empty_database(request, tmp_path)
    return databases.migrated_database(request, tmp_path)


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The Redis server the tests share (CHURN_TEST_REDIS_URL); skipped when absent."""
    resources.BY_KEY["redis"].require(getattr(request, "_pyfuncitem", None))
    return resources.REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own (Redis is shared by every run on the machine); its
    keys are deleted afterwards."""
    import uuid

    import redis

    prefix = f"churn-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
