"""A small simulation for the tests (three months, a small base, a quick model), run once
per test session and shared by the simulation tests and the dashboard's browser test."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.run import SimConfig, SimResult, simulate

MONTHS = 3
DRIFT_MONTH = 3
CUSTOMERS = 1000
# the suites reading the simulation run on the same xdist worker (tests/parallel.py): the
# simulation is kept per process
SAME_WORKER = pytest.mark.xdist_group("small-simulation")
_RUNS: dict[Path, tuple[SimResult, list[str]]] = {}


def small_config(work: Path) -> SimConfig:
    return SimConfig(months=MONTHS, customers=CUSTOMERS, training_rows=3000, seed=7,
                     control_fraction=0.5, drift_month=DRIFT_MONTH, minimise=False,
                     n_estimators=100, uplift_min_per_arm=30, work=work)


def small_simulation(factory: pytest.TempPathFactory) -> tuple[SimResult, list[str], Path]:
    """The session's small simulation: its result, the lines it printed, its work dir."""
    work = factory.getbasetemp() / "small-simulation"
    if work not in _RUNS:
        work.mkdir(exist_ok=True)
        lines: list[str] = []
        _RUNS[work] = (simulate(small_config(work), out=lines.append), lines)
    result, lines = _RUNS[work]
    return result, lines, work
