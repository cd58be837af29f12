"""How the suite shares out between pytest-xdist workers: `make test` runs `-n 2 --dist
loadgroup`, which hands the tests out one by one, except that the tests of one group always
run on the same worker, and the slow ones go first.

A module- or class-scoped fixture is built once per process that runs the module's tests
(a model fitted for the module, a server started for it): spread over two workers it would
be built twice. So the tests that use one are grouped by their module. Modules that share
something by other means name the same group (`pytest.mark.xdist_group(...)`). The browser
tests form one group: one Chromium per worker at a time (tests/chromium.py). Session-scoped
fixtures are built once per worker; the expensive ones (the trained models) once per run,
shared across workers (tests/artefacts.py).

Why not xdist's own `loadgroup`: it tells the scheduler a test's group by appending
`@group` to the test's node id, which pytest 9.2 no longer lets it change, so every
group is silently ignored (pytest-dev/pytest-xdist#1386). Here each worker writes, once it
has collected, which group each test is in and whether it is marked slow to a file in the
run's temporary folder; the scheduler (in the controlling process, which collects nothing)
reads it before handing out work.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

from tests import resources

SHARED_SCOPES = frozenset({"module", "class", "package"})
# Session-scoped fixtures that train something of the session's own (not shareable across
# workers through tests/artefacts.py): the tests using one run on one worker, so it is
# trained once per run.
TRAINED_PER_SESSION = frozenset({"uplift_version"})
PLAN_DIR = "xdist-plan"


def shared_scope(item: pytest.Item) -> str | None:
    """The scope of a module-, class- or package-scoped fixture `item` uses, if any."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name)
        if defs and defs[-1].scope in SHARED_SCOPES:
            return defs[-1].scope
    return None


def group_of(item: pytest.Item) -> str | None:
    """The group `item` runs in: its `xdist_group` mark's name, else "browser" when it
    drives Chromium, else the fixture's when it uses one of TRAINED_PER_SESSION, else its
    module when it uses a module- or class-scoped fixture, else none (it may run
    anywhere)."""
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")})
    if names:
        return "_".join(names)
    if resources.BY_KEY["chromium"].needed_by(item):
        return "browser"  # one after the other: one browser launched (tests/chromium.py)
    trained = sorted(TRAINED_PER_SESSION.intersection(getattr(item, "fixturenames", ())))
    if trained:
        return "fixture:" + "_".join(trained)
    if shared_scope(item) is not None:
        return item.nodeid.split("::")[0]
    return None


def _plan_dir(config: pytest.Config) -> Path:
    # the controller's base temp; each worker's is a folder inside it (xdist sets it)
    base = config._tmp_path_factory.getbasetemp()  # noqa: SLF001 - what xdist itself uses
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / PLAN_DIR


def write_plan(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a worker, after collection: each test's group and slowness, for the scheduler."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    plan = {item.nodeid: {"group": group_of(item),
                          "slow": item.get_closest_marker("slow") is not None}
            for item in items}
    folder = _plan_dir(config)
    folder.mkdir(exist_ok=True)
    partial = folder / f"{worker}.partial"
    partial.write_text(json.dumps(plan))
    partial.replace(folder / f"{worker}.json")


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The scheduler for `--dist loadgroup` (None: xdist's own for any other mode)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class PlannedGroups(LoadScopeScheduling):
        """xdist's scope scheduler with the workers' plan as scopes: a group is one unit
        of work, every other test a unit of its own; units with a slow test first, then
        in collection order."""

        plan: dict[str, dict[str, Any]] | None = None

        def _read_plan(self) -> dict[str, dict[str, Any]]:
            if self.plan is None:
                self.plan = {}
                for path in sorted(_plan_dir(self.config).glob("*.json")):
                    self.plan.update(json.loads(path.read_text()))
            return self.plan

        def _split_scope(self, nodeid: str) -> str:
            group = self._read_plan().get(nodeid, {}).get("group")
            return f"group:{group}" if group else nodeid

        def schedule(self) -> None:
            if self.collection is None and self.collection_is_completed:
                self._read_plan()
                self.config.option.loadscopereorder = False  # the order is set below
                super().schedule()
                return
            super().schedule()

        def _assign_work_unit(self, node: Any) -> None:
            if not getattr(self, "_ordered", False):  # the first call: the queue is full
                self._ordered = True
                plan = self._read_plan()

                def fast(unit: tuple[str, dict[str, bool]]) -> bool:
                    return not any(plan.get(n, {}).get("slow") for n in unit[1])

                self.workqueue = OrderedDict(sorted(self.workqueue.items(), key=fast))
            super()._assign_work_unit(node)

    return PlannedGroups(config, log)
