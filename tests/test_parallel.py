"""`make test` runs on two pytest-xdist workers (tests/parallel.py): the tests of a module with
a module-scoped fixture run on one worker, so the fixture is built once; modules naming one
`xdist_group` share a worker; the other tests spread over both; slow ones are handed out
first. Checked on a stand-in suite run in a subprocess with the project's hooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RECORD = '''
import json, os, time
from pathlib import Path

def record(name, **extra):
    line = {"test": name, "worker": os.environ["PYTEST_XDIST_WORKER"], "t": time.time(), **extra}
    with open(Path(os.environ["STAND_IN_LOG"]), "a") as f:
        f.write(json.dumps(line) + "\\n")
'''
MODULE_FIXTURE = '''
import pytest
from record import record

@pytest.fixture(scope="module")
def built():
    record("module-fixture-built")
    return object()

@pytest.mark.parametrize("i", range(6))
def test_uses_it(built, i):
    record(f"module-{i}")
'''
GROUPED = '''
import time
import pytest
from record import record

pytestmark = pytest.mark.xdist_group("together")

@pytest.mark.parametrize("i", range(3))
def test_grouped(i):
    time.sleep(0.05)
    record(f"{__name__}-{i}")
'''
FREE = '''
import time
import pytest
from record import record

@pytest.mark.parametrize("i", range(12))
def test_free(i):
    time.sleep(0.3)
    record(f"free-{i}")

@pytest.mark.slow
def test_slow_last_in_the_file():
    record("slow")
'''
# the third-party plugins the stand-in suite does not use stay out (3 s of start-up each)
INI = """[pytest]
addopts = -p no:cacheprovider -p no:schemathesis -p no:hypothesispytest -p no:anyio
markers =
    slow: slow
"""


def test_groups_share_a_worker_and_the_rest_spreads(tmp_path: Path) -> None:
    for name, text in {"record.py": RECORD, "test_a_module_fixture.py": MODULE_FIXTURE,
                       "test_b_grouped.py": GROUPED, "test_c_grouped.py": GROUPED,
                       "test_d_free.py": FREE, "pytest.ini": INI}.items():
        (tmp_path / name).write_text(text)
    log = tmp_path / "log.jsonl"
    env = {k: v for k, v in os.environ.items()
           if k != "PYTEST_ADDOPTS" and not k.startswith("PYTEST_XDIST_")}
    env |= {"PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]),
            "STAND_IN_LOG": str(log)}
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest",
                        "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
                        "-n", "2", "--dist", "loadgroup", str(tmp_path)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "25 passed" in r.stdout, r.stdout
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    workers: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        workers[line["test"].rsplit("-", 1)[0]].add(line["worker"])
    # the module fixture was built once, and its module ran on that one worker
    assert [line["test"] for line in lines].count("module-fixture-built") == 1
    assert len(workers["module"]) == 1
    # two modules of one named group: one worker
    assert len(workers["test_b_grouped"] | workers["test_c_grouped"]) == 1
    # the rest is shared out
    assert workers["free"] == {"gw0", "gw1"}, workers
    # the slow test, last in its file, was among the first its worker was handed (counted
    # on that worker: the other may have run a whole module while this one started up)
    first = sorted(lines, key=lambda line: line["t"])
    (slow_worker,) = workers["slow"]
    assert [line["test"] for line in first
            if line["worker"] == slow_worker].index("slow") < 6, first
