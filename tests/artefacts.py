"""Trained artefacts built once per test run and shared by every suite and every pytest-xdist
worker: an MLflow store (its `mlflow.db` and artifact folders) per distinct training
configuration.

Training is most of the suite's cost, and several suites used to train the same small model
again (serving, e2e) or the same full pipeline twice (training, models). Here the first
worker that needs a configuration trains it into the run's shared temporary folder, under a
file lock; every other worker waits for it and reuses it. The shared store is never written
to: each session gets its own copy (`copy_store`: the database and the artifacts, every
stored path rewritten to name the copy), so a test that registers a version, moves an alias
or logs an evaluation still works on a store of its own, as it did when each session
trained its own.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
STORE_DB = "mlflow.db"


def run_root(factory: pytest.TempPathFactory) -> Path:
    """The folder every process of this run shares: under xdist each worker's base temp is
    `<run's base temp>/gwN`, so its parent; without xdist, the base temp itself (a parent
    would be shared with other runs)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` across processes (released when the holder dies)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(factory: pytest.TempPathFactory, key: str, build: Callable[[Path], T]) -> T:
    """`build(folder)` run once per test run for `key`, whichever worker asks first; later
    callers (other workers included) get the same (pickled) value and folder. A failed
    build is remembered: the other callers fail at once with its message rather than
    training again."""
    root = run_root(factory) / "shared-artefacts"
    root.mkdir(exist_ok=True)
    folder, done, failed = root / key, root / f"{key}.pickle", root / f"{key}.failed"
    with locked(root / f"{key}.lock"):
        if done.exists():
            return pickle.loads(done.read_bytes())
        if failed.exists():
            pytest.fail(f"building the shared artefacts {key!r} failed in another worker:\n"
                        + failed.read_text(), pytrace=False)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        try:
            value = build(folder)
        except BaseException as exc:
            failed.write_text(f"{type(exc).__name__}: {exc}")
            raise
        partial = done.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(value))
        partial.replace(done)
        return value


def shared_folder(factory: pytest.TempPathFactory, key: str) -> Path:
    """Where `build_once` built `key`."""
    return run_root(factory) / "shared-artefacts" / key


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy the SQLite database `source` into `target` through SQLite's backup API: a
    consistent copy even while others read the source (opened read-only), with its page
    size and journal mode."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def copy_store(source: Path, target: Path) -> Path:
    """Copy the folder of a local MLflow store (`mlflow.db` beside its artifact folders)
    to `target` and point every path stored in the copy's database at the copy, so that
    nothing done through the copy touches `source`. Returns `target`."""
    shutil.copytree(source, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(STORE_DB, f"{STORE_DB}-*"))
    copy_sqlite(source / STORE_DB, target / STORE_DB)
    _rewrite_paths(target / STORE_DB, str(source.resolve()), str(target.resolve()))
    return target


def _rewrite_paths(db: Path, old: str, new: str) -> None:
    """Replace the prefix `old` by `new` in every text value of the store (experiments'
    artifact locations, runs' artifact URIs, model versions' storage locations, ...),
    whatever MLflow's schema version calls those columns."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]:
                conn.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                             f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                             (old, new, old))
        conn.commit()
        left = [f"{t}.{c}" for t in tables
                for c in [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')]
                if conn.execute(f'SELECT 1 FROM "{t}" WHERE typeof("{c}") = \'text\' '
                                f'AND instr("{c}", ?) > 0 LIMIT 1', (old,)).fetchone()]
    finally:
        conn.close()
    assert new.startswith(old) or not left, f"the copied MLflow store still names {old} in {left}"


# -- the trained models the suites share -----------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
TELCO_CSV = REPO.parent / "shared" / "data" / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
TELCO_SCHEMA = REPO / "training" / "datasets" / "telco.yaml"

# The small model most suites serve: quick to train, no feature minimisation. One thread:
# the run's workers share the machine's cores (training/config.py says why).
SMALL_MODEL = dict(synthetic_rows=3000, minimise=False, n_estimators=100, cv_folds=2,
                   threads=1)


@dataclass
class Trained:
    """A registered @champion: where its store is and which version it is."""

    tracking_uri: str
    model_name: str
    model_version: str
    model_uri: str


def train_small(tmp: Path, data: Path | None = None, schema: Path | None = None,
                name: str = "churn") -> Trained:
    """Train the small model on `data` (default: synthetic) into a store at `tmp` and
    promote it to @champion."""
    from training.config import TrainSettings
    from training.pipeline import train
    from training.registry import promote

    settings = TrainSettings(tracking_uri=f"sqlite:///{tmp}/mlflow.db",
                             artifact_root=tmp / "art", reports_dir=tmp / "rep",
                             model_name=name, **SMALL_MODEL)
    result = train(settings, data, schema)
    gate = promote(settings)
    assert gate.promoted, gate.report()
    return Trained(settings.tracking_uri, name, str(result.model_version),
                   f"models:/{name}@champion")


def _small_store(factory: pytest.TempPathFactory, key: str, name: str,
                 build: Callable[[Path], Trained]) -> tuple[Path, Trained]:
    shared = build_once(factory, key, build)
    tmp = copy_store(shared_folder(factory, key), factory.mktemp(name))
    return tmp, Trained(f"sqlite:///{tmp}/mlflow.db", shared.model_name,
                        shared.model_version, shared.model_uri)


def champion_store(factory: pytest.TempPathFactory,
                   name: str = "mlflow") -> tuple[Path, Trained]:
    """A private copy, in a new temporary folder `name`, of the store of the small model
    trained on the default synthetic data (model `churn`, @champion), trained once per
    run; the folder and the model in it. Write to it freely: nobody else reads it."""
    return _small_store(factory, "synthetic-champion", name, train_small)


def telco_champion_store(factory: pytest.TempPathFactory,
                         name: str = "telco") -> tuple[Path, Trained]:
    """The same for the small model trained from the real Telco CSV (read in place, never
    copied): model `churn-telco`, @champion."""
    assert TELCO_CSV.is_file(), f"the Telco data is expected at {TELCO_CSV}"
    return _small_store(factory, "telco-champion", name,
                        lambda tmp: train_small(tmp, TELCO_CSV, TELCO_SCHEMA, "churn-telco"))


def load_champion(trained: Trained) -> Any:
    """The `models.ChurnModel` registered as `trained` (loaded through MLflow)."""
    import mlflow

    mlflow.set_tracking_uri(trained.tracking_uri)
    return mlflow.pyfunc.load_model(trained.model_uri).unwrap_python_model()


# -- new MLflow stores -----------------------------------------------------------------------
def _empty_store(folder: Path, initialize: Callable[[Any], None]) -> Path:
    import sqlalchemy as sa

    path = folder / STORE_DB
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        initialize(engine)
    finally:
        engine.dispose()
    return path


def new_stores_from_a_template(factory: pytest.TempPathFactory) -> Callable[[], None]:
    """Make MLflow create the tables of a new local SQLite store by copying them from a store
    where MLflow itself created them, once per run: MLflow runs its sixty-odd migrations for
    every new store, about two seconds of CPU, and the training suites make some thirty
    stores. The copy is what MLflow would have made (same version, same code); anything
    but an empty SQLite file is left to MLflow. Returns the undo."""
    import mlflow.store.db.utils as db_utils

    current = db_utils._initialize_tables  # noqa: SLF001
    original = getattr(current, "mlflow_own", current)  # MLflow's, even if patched already
    template: list[Path] = []

    def initialize(engine: Any, *args: Any, **kwargs: Any) -> None:
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        if args or kwargs or not path or path == ":memory:" or not _no_tables(Path(path)):
            original(engine, *args, **kwargs)
            return
        if not template:
            template.append(build_once(factory, "mlflow-empty-store",
                                       lambda folder: _empty_store(folder, original)))
        engine.dispose()  # the copy replaces the file under it
        copy_sqlite(template[0], Path(path))

    initialize.mlflow_own = original  # type: ignore[attr-defined]
    modules = [db_utils]
    try:
        import mlflow.store.model_registry.sqlalchemy_store as registry_store

        if getattr(registry_store, "_initialize_tables", None) in (current, original):
            modules.append(registry_store)
    except ImportError:  # pragma: no cover - another MLflow layout: its own init
        pass
    for module in modules:
        module._initialize_tables = initialize  # noqa: SLF001

    def undo() -> None:
        for module in modules:
            module._initialize_tables = current  # noqa: SLF001

    return undo


def _no_tables(path: Path) -> bool:
    if not path.exists():
        return True
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    finally:
        conn.close()
