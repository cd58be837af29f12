"""Without a PostgreSQL server or Chromium, `make test` runs everything else and ends by
naming what it left out and the line that enables it; with CHURN_REQUIRE_ALL=1 (CI) their
absence fails the run. Checked on a small suite of stand-in tests run in a subprocess
with the project's own hooks (tests/conftest.py as a plugin)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLOSED_PG = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"

SUITE = '''
import pytest

def test_plain():
    pass

@pytest.mark.postgres
def test_marked_postgres():
    pass

def test_uses_pg_database(pg_database):
    assert pg_database.startswith("postgresql")

@pytest.mark.browser
def test_marked_browser():
    pass

@pytest.fixture
def page():
    return "a page"

def test_uses_page(page):
    pass

@pytest.mark.postgres
@pytest.mark.browser
def test_needs_both():
    pass
'''
# the third-party plugins the stand-in suite does not use stay out (3 s of start-up each)
INI = """[pytest]
addopts = -ra --strict-markers -p no:cacheprovider -p no:schemathesis -p no:hypothesispytest
          -p no:anyio
markers =
    postgres: needs PostgreSQL
    browser: needs Chromium
"""


# `make test` runs the suite on two xdist workers: the tests run there, the summary is
# written by the controlling process from the workers' reports
WORKERS = {"one-process": [], "two-workers": ["-n", "2", "--dist", "loadgroup"]}


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_stand_in.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text(INI)
    environ = {k: v for k, v in os.environ.items()
               if k not in ("CHURN_REQUIRE_ALL", "CHURN_TEST_PG_URL", "CHURN_CHROMIUM",
                            "PYTEST_ADDOPTS") and not k.startswith("PYTEST_XDIST_")}
    environ |= {"PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest",
                           "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
                           *args, str(tmp_path)],
                          cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=180)


def left_out_section(out: str) -> str:
    """The 'left out' / 'could not run' section, checked to be the last one: only the
    totals line follows it."""
    lines = out.strip().splitlines()
    start = next(i for i, line in enumerate(lines)
                 if "suites left out" in line or "suites that could not run" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("==="))
    assert end == len(lines) - 1 and " in " in lines[end], lines[end:]
    return "\n".join(lines[start:end])


@pytest.mark.parametrize("workers", WORKERS)
def test_missing_suites_are_skipped_and_named_at_the_end(tmp_path: Path, workers: str) -> None:
    r = run(tmp_path, *WORKERS[workers], CHURN_TEST_PG_URL=CLOSED_PG,
            CHURN_CHROMIUM="/nonexistent")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 5 skipped" in r.stdout
    section = left_out_section(r.stdout)
    assert "PostgreSQL: 3 tests skipped" in section
    assert "127.0.0.1:1/postgres" in section and "Connection refused" in section
    assert "enable:  docker run -d --name churn-pg -p 5432:5432" in section
    assert "CHURN_TEST_PG_URL=" in section
    assert "Chromium: 3 tests skipped" in section
    assert "/nonexistent not found" in section
    assert "enable:  sudo apt-get install -y chromium" in section
    assert "CHURN_CHROMIUM=" in section
    assert "CHURN_REQUIRE_ALL=1" in section


@pytest.mark.parametrize("workers", WORKERS)
def test_with_require_all_a_missing_suite_fails_the_run(tmp_path: Path, workers: str) -> None:
    r = run(tmp_path, *WORKERS[workers], CHURN_TEST_PG_URL=CLOSED_PG,
            CHURN_CHROMIUM="/nonexistent", CHURN_REQUIRE_ALL="1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 passed, 5 errors" in r.stdout
    assert "skipped" not in r.stdout.splitlines()[-1]
    section = left_out_section(r.stdout)
    assert "FAILED (CHURN_REQUIRE_ALL=1)" in section
    assert "PostgreSQL: 3 tests failed" in section and "Chromium: 3 tests failed" in section
    assert "CHURN_REQUIRE_ALL=1 and PostgreSQL: no usable server" in r.stdout


@pytest.mark.postgres  # shows the server is used when present
def test_only_the_missing_one_is_left_out(tmp_path: Path) -> None:
    r = run(tmp_path, CHURN_CHROMIUM="/nonexistent", CHURN_REQUIRE_ALL="0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed, 3 skipped" in r.stdout
    section = left_out_section(r.stdout)
    assert "Chromium: 3 tests skipped" in section and "PostgreSQL" not in section


@pytest.mark.postgres  # shows the server is used when present
def test_nothing_is_said_when_everything_ran(tmp_path: Path) -> None:
    r = run(tmp_path, CHURN_CHROMIUM=sys.executable, CHURN_REQUIRE_ALL="1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "6 passed" in r.stdout
    assert "suites left out" not in r.stdout and "could not run" not in r.stdout


def test_ci_requires_every_suite() -> None:
    """.ci/run sets the switch before it runs the suite."""
    script = (REPO / ".ci" / "run").read_text().splitlines()
    switch = script.index("export CHURN_REQUIRE_ALL=1")
    run_tests = next(i for i, line in enumerate(script) if line.startswith("make test"))
    assert switch < run_tests
