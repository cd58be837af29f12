"""Batch scoring of the customer base: the nightly job that fills the risk list.

Reads a CSV or Parquet file in chunks, skips customers who objected or whose record is
restricted, scores and explains whole chunks at once (one TreeSHAP pass per chunk), bulk
inserts the receipts, moves each customer's risk-list entry and opens human-contact
tasks for the high band (and the review margin) without ever duplicating an open task:
the partial unique index on open tasks decides, so a re-run or two concurrent runs are safe.

**A rerun after a crash resumes.** Each run is recorded (`batch_runs`): the customer file,
by the sha256 of its bytes (wherever it lies), the model version and `as_of` (none: the
time of the run) identify it. Each commit adds the rows of the file it wrote to the run's
record in the same transaction, so the record always says exactly how far the stored
receipts go. A run that dies half way (killed, out of memory, the database gone) stays
`running`; the same command run again, with the same file, model and `as_of`, resumes it:
the rows already committed are read past, neither scored nor stored again, and the report
says `resumed`, `skipped_done` (those rows) and `scored_before` (their receipts). Drift,
monitoring and the dashboard, which read every batch receipt of the night, then count each
customer once, as an uninterrupted run would have stored them (a customer listed twice
still ends with the later row). A completed run run again is a new run (a new night):
everyone is scored again; `restart` (`score --restart`) abandons an unfinished run and
scores every row again. Started again while the first process still runs, the later
process takes the run over from the rows committed so far and the earlier one stops at its
next commit, that transaction rolled back (`BatchError`): no row is stored twice. The skip
costs no query per chunk: the committed rows are a prefix of the file (chunks are written
in file order, on every path: threads, the child process, Dask).
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import itertools
import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Collection, Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.dataset_schema import MISSING_MARKERS, DatasetSchema, SchemaError
from models.explain import decoded_json
from models.pseudonym import Pseudonymiser
from serving.audit import service as audit
from serving.config import Settings
from serving.customers import contacts as file_contacts
from serving.loop import targeting
from serving.loop.control import ControlPlan, carried_over
from serving.memo import PhiMemo
from serving.modelhost import ModelHost, ServedModel
from serving.routing import OVERTURNED, repeats_overturned, route_many, routes
from serving.scoring.schemas import CUSTOMER_ID_RULE, customer_id_ok
from serving.specs import SpecCache, register_model
from serving.storage import Database, batch_runs, bulk, upgrade
from serving.storage import access as store_access
from serving.storage.batch_runs import RunClaim
from serving.storage.db import write_lock
from serving.storage.receipts import LatestEntry, PredictionRow, Receipts, TaskRow
from serving.storage.tables import OPEN_TASK_STATUSES, RetentionTask, ascending_ids, new_ids

log = logging.getLogger(__name__)


# chunks being scored while the previous one is written
AHEAD = 2


class BatchError(ValueError):
    """The input cannot be batch-scored; the message says how to fix it."""


@dataclass
class BatchReport:
    data: str
    model_name: str
    model_version: str
    rows_read: int = 0
    scored: int = 0
    skipped_objected: int = 0
    skipped_restricted: int = 0
    skipped_erased: int = 0
    skipped_without_id: int = 0
    skipped_invalid: int = 0  # rows outside the model's input domain, not scored
    # why, as "feature: problem" -> rows (e.g. "tenure: out of range")
    invalid_reasons: dict[str, int] = field(default_factory=dict)
    duplicate_ids: int = 0
    # scored on exactly the values of an overturned receipt: stored withdrawn, no task,
    # off the risk list (counted in `scored`)
    repeated_overturned: int = 0
    high: int = 0
    human_contact: int = 0
    # tasks this run opened (issue 16): a customer with an open task keeps it
    tasks_created: int = 0
    open_tasks_before: int = 0
    open_tasks_after: int = 0
    seconds: float = 0.0  # the whole run
    setup_seconds: float = 0.0  # checks, migrations, loading the model (and Dask workers)
    teardown_seconds: float = 0.0  # after the last commit: closing up (the Dask cluster)
    worker_peak_rss_mib: float | None = None  # Dask: the largest worker's peak memory
    treeshap_rows: int | None = None  # distinct rows TreeSHAP computed (single process)
    # the schema's contact_column (issue 15): addresses stored apart from the features;
    # a row whose address is not valid is scored all the same, its address left out and
    # its number in the file (1-based data row) reported, never the address itself
    contacts_stored: int = 0
    contacts_invalid: int = 0
    contacts_invalid_rows: list[int] = field(default_factory=list)  # the first 100
    contacts_invalid_reason: str = file_contacts.ADDRESS_RULE
    # the schema's value_column (issue 17): each customer's value for uplift targeting;
    # a cell that is not a number at or above zero is replaced by CHURN_CUSTOMER_VALUE
    # (counted here, the row scored all the same)
    values_invalid: int = 0
    # where the chunks were read, scored and explained while this process wrote them:
    # "threads" of this process, a "child process" (CHURN_BATCH_PROCESS_ROWS), or "dask"
    prepared_in: str = "threads"
    # the targeting rule applied ("risk", or "uplift" with the uplift model's version)
    targeting: str = "risk"
    uplift_model: str | None = None
    # the run (`batch_runs`): the sha256 of the file's bytes, which with the model version
    # and as_of identifies it; `resumed`: this command resumed a run that had not
    # completed (a crash), past the `skipped_done` rows of the file its committed
    # transactions had written, with `scored_before` receipts (neither scored again; not
    # counted in `rows_read` and `scored`, which are this command's)
    data_digest: str | None = None
    resumed: bool = False
    skipped_done: int = 0
    scored_before: int = 0

    @property
    def rows_per_second(self) -> float:
        """Throughput of the scoring pass: read, score, explain, write (from the end of
        the setup to the last commit)."""
        scoring = self.seconds - self.setup_seconds - self.teardown_seconds
        return self.scored / scoring if scoring > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


def pseudonymiser(key: str) -> Pseudonymiser:
    """`models.pseudonymise` for many ids (the keyed HMAC state is prepared once)."""
    return Pseudonymiser(key)


def read_chunks(path: Path, columns: list[str], chunk_rows: int,
                rows: int | None, contact_column: str | None = None,
                text: Collection[str] = ()) -> Iterator[pd.DataFrame]:
    """The needed columns of a CSV or Parquet file, `chunk_rows` at a time. In a CSV file
    the id (the first of `columns`) and the `text` columns (the model's categorical
    features) are read as text, as training reads them: only an empty field is missing
    ("None" or "NA" may be a category, and "007" stays "007"); the contact column is
    read as text too, and the others (numbers, the value column) as pandas reads them,
    "NA" or "null" missing."""
    if not path.is_file():
        raise BatchError(f"data file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        missing = [c for c in columns if c not in pf.schema_arrow.names]
        if missing:
            raise BatchError(f"{path} lacks the columns {missing} the model needs")
        left = rows
        offset = 0
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns):
            frame = batch.to_pandas()
            # rows numbered through the file, as read_csv's chunks are (reports name rows)
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            if left is not None:
                frame = frame.iloc[:left]
                left -= len(frame)
            yield frame
            if left is not None and left <= 0:
                return
    elif suffix in (".csv", ".txt") or path.name.endswith(".csv.gz"):
        header = pd.read_csv(path, nrows=0).columns
        missing = [c for c in columns if c not in header]
        if missing:
            raise BatchError(f"{path} lacks the columns {missing} the model needs")
        exact = {columns[0], *text} & set(columns)  # only an empty field is missing
        as_text = exact | ({contact_column} if contact_column else set())
        yield from pd.read_csv(
            path, usecols=columns, chunksize=chunk_rows, nrows=rows,
            dtype=dict.fromkeys(as_text, str), skipinitialspace=True, keep_default_na=False,
            na_values={c: [""] if c in exact else list(MISSING_MARKERS) for c in columns})
    else:
        raise BatchError(f"{path}: give a .csv or .parquet file")


def categorical(served: ServedModel) -> list[str]:
    """The served model's categorical features: a batch file's reader reads them as text
    (`read_chunks`)."""
    return [f.name for f in served.spec.features if f.kind != "numeric"]


def ramp_pieces(n: int) -> list[tuple[int, int]]:
    """The four row ranges cutting a first chunk of `n` rows in growing pieces (1/8, 1/8,
    1/4, 1/2; some empty below 8 rows).

    The writer cannot start before a piece is scored: small first pieces set it to work
    at once instead of after a whole chunk has gone through TreeSHAP."""
    return list(itertools.pairwise((0, n // 8, n // 4, n // 2, n)))


def ramp_up(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The frames, the first one cut by `ramp_pieces`."""
    first = next(frames, None)
    if first is None:
        return
    for lo, hi in ramp_pieces(len(first)):
        if hi > lo:
            yield first.iloc[lo:hi]
    yield from frames


def skip_rows(frames: Iterator[pd.DataFrame], n: int) -> Iterator[pd.DataFrame]:
    """The frames without the file's first `n` rows (those a resumed run's earlier attempt
    committed); the rows keep their numbers in the file (the frames' index)."""
    for frame in frames:
        if n >= len(frame):
            n -= len(frame)
            continue
        yield frame.iloc[n:] if n else frame
        n = 0


def file_digest(path: Path) -> str:
    """The sha256 of the file's bytes (what identifies a run's customer file)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def run_key(data_digest: str, model_name: str, model_version: str,
            as_of: datetime | None) -> str:
    """What identifies a batch run: the file's digest, the model version and `as_of`
    (None: the time of the run), as one sha256."""
    when = as_of.astimezone(UTC).isoformat() if as_of is not None else None
    return hashlib.sha256(json.dumps([data_digest, model_name, model_version, when])
                          .encode()).hexdigest()


class RunTakenOver(BatchError):
    """Another process started the same run and took it over: this one stops."""


_gc_lock = threading.Lock()
_gc_depth = 0  # blocks running in this process with the collector paused
_gc_was_enabled = True  # the collector's state when the first of them began


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's automatic cyclic garbage collection off for the block (one scoring pass,
    or one chunk on a Dask worker), the young generations collected at its end.

    A pass keeps hundreds of thousands of receipt tuples alive between scoring and the
    commit; each automatic collection walks them again, and that cost about 10 µs per
    row (measured: a tenth of the pass). Reference counting still frees everything
    acyclic at once; the few cycles a chunk leaves (pandas, pyarrow) are collected at
    each commit (`ChunkWriter.commit`) and at the end. Nested and concurrent blocks
    (threads of one worker) re-enable the collector when the last one ends, and only if
    it was on before the first."""
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()
        gc.collect(1)


def _open_tasks(session) -> int:  # noqa: ANN001
    return session.scalar(
        select(func.count()).select_from(RetentionTask)
        .where(RetentionTask.status.in_(OPEN_TASK_STATUSES))
    ) or 0


@dataclass
class Run:
    """What every batch run needs, checked once: schema, database, model, columns."""

    settings: Settings
    data: Path
    dataset: DatasetSchema
    db: Database
    served: ServedModel
    columns: list[str]
    own_db: bool
    data_digest: str = ""  # sha256 of the file's bytes (`file_digest`)

    @property
    def id_column(self) -> str:
        assert self.dataset.id_column
        return self.dataset.id_column

    @property
    def value_column(self) -> str | None:
        """The schema's value_column (issue 17), read apart from the features (a feature
        may be it too: it is then read, not removed)."""
        return self.dataset.value_column

    def open_tasks(self) -> int:
        with self.db.session() as session:
            return _open_tasks(session)

    def open_task_since(self) -> dict[str, datetime]:
        """Each customer's open or claimed task -> when it was created, read once at the
        start of the run: the chunks (scored apart from the database, on Dask workers
        too) leave out of the control draw the customers whose task was created in an
        earlier campaign period than theirs. A task opened elsewhere while the run goes
        on is not seen by it (it is of the current period unless the run crosses a
        period's end); one closed meanwhile is checked at write time (`_store`)."""
        with self.db.session() as session:
            return Receipts(session).open_task_since()

    def claim(self, as_of: datetime | None, resume: bool = True) -> RunClaim:
        """Record the run this process writes: the unfinished run of the same file, model
        version and `as_of` resumed (or, without `resume`, abandoned), else a new one."""
        key = run_key(self.data_digest, self.served.name, self.served.version, as_of)
        for tries in (1, 2):
            with self.db.session() as session, write_lock(session):
                try:
                    got = batch_runs.claim(
                        session, key, data=str(self.data), data_digest=self.data_digest,
                        model_name=self.served.name, model_version=self.served.version,
                        as_of=as_of, at=datetime.now(UTC), resume=resume)
                    session.commit()
                except IntegrityError:  # PostgreSQL: the same new run, started meanwhile
                    session.rollback()
                    if tries == 2:
                        raise
                    continue
            if got.resumed:
                log.info("resuming batch run %s: %d rows of %s already committed (%d "
                         "receipts), not scored again", got.run_id, got.rows_done, self.data,
                         got.scored)
            return got
        raise AssertionError("unreachable")  # pragma: no cover

    def complete(self, claim: RunClaim) -> None:
        """Mark the run completed: the same command run again is a new run."""
        with self.db.session() as session, write_lock(session):
            if not batch_runs.complete(session, claim.run_id, claim.attempt, datetime.now(UTC)):
                log.warning("batch run %s was taken over by another process after its "
                            "last commit", claim.run_id)
            session.commit()

    def close(self) -> None:
        if self.own_db:
            self.db.dispose()


def prepare_run(settings: Settings, data: str | Path, schema: str | Path | None = None, *,
                db: Database | None = None, host: ModelHost | None = None) -> Run:
    """Check the inputs, migrate the database, load and record the model."""
    data = Path(data)
    if not data.is_file():
        raise BatchError(f"data file {data} does not exist")
    # the file's digest (what identifies the run) is read while the model loads
    digesting = ThreadPoolExecutor(1, thread_name_prefix="digest")
    digest = digesting.submit(file_digest, data)
    digesting.shutdown(wait=False)
    if schema is None:
        guess = data.with_suffix(".yaml")
        if not guess.is_file():
            raise BatchError(f"no schema given for {data}: pass --schema <yaml> (SCHEMA=...)")
        schema = guess
    try:
        dataset = DatasetSchema.load(schema)
    except SchemaError as exc:
        raise BatchError(str(exc)) from exc
    if not dataset.id_column:
        raise BatchError(f"the schema {schema} names no id_column: batch scoring stores one "
                         "prediction per customer and needs their id")
    own_db = db is None
    db = db or Database(settings.database_url)
    if settings.migrate_on_start:
        upgrade(db.engine)
    host = host or ModelHost(settings)
    served = host.current() if host.ready else host.load()
    with db.session() as session:
        register_model(session, served, SpecCache())
    enc = served.model.encoder
    assert enc is not None
    id_col = dataset.id_column
    columns = [id_col] + [n for n in enc.names if n != id_col]
    if dataset.contact_column and dataset.contact_column not in columns:
        columns.append(dataset.contact_column)  # read apart (as text, last), never a feature
    if dataset.value_column and dataset.value_column not in columns:
        columns.append(dataset.value_column)  # read apart: uplift targeting's value (issue 17)
    return Run(settings=settings, data=data, dataset=dataset, db=db, served=served,
               columns=columns, own_db=own_db, data_digest=digest.result())


def score_file(settings: Settings, data: str | Path, schema: str | Path | None = None,
               rows: int | None = None, *, db: Database | None = None,
               host: ModelHost | None = None, chunk_rows: int | None = None,
               as_of: datetime | None = None, resume: bool = True) -> BatchReport:
    """Score every customer in `data` into the risk list; returns what was done.

    `as_of`: the time the receipts, tasks and control draw are made for (default now; the
    simulation, `simulation.run`, scores a month at a time in the past). Who carries an
    open task from an earlier campaign period, and so is not drawn, is read once at the
    start of the run (`Run.open_task_since`). A file of CHURN_BATCH_PROCESS_ROWS rows or
    more is read, scored and explained in a child process (`serving.batchproc`), a
    smaller one in threads of this one; this process writes.

    An unfinished run of the same file, model version and `as_of` (one that crashed) is
    resumed after the rows it committed; `resume=False` abandons it and scores every row
    (the module's docstring says how a run is identified)."""
    started = time.perf_counter()
    child = None
    if in_child(settings, Path(data), rows):
        from serving import batchproc as child  # it imports this module: loaded if needed

        child.warm_up()  # the fork server imports while this process loads the model
    run = prepare_run(settings, data, schema, db=db, host=host)
    try:
        return _score_run(run, settings, started, rows=rows, as_of=as_of,
                          chunk_rows=chunk_rows or settings.batch_chunk_rows, child=child,
                          resume=resume)
    finally:
        run.close()


def _score_run(run: Run, settings: Settings, started: float, *, rows: int | None,
               as_of: datetime | None, chunk_rows: int, child: ModuleType | None,
               resume: bool = True) -> BatchReport:
    served = run.served
    plan = ControlPlan.from_settings(settings)  # the control group's draw (issue 17)
    uplift = targeting.load_plan(settings)  # CHURN_TARGETING=uplift (issue 17)
    report = BatchReport(data=str(run.data), model_name=served.name,
                         model_version=served.version, open_tasks_before=run.open_tasks(),
                         **targeting_report(plan, uplift))
    claim = run.claim(as_of, resume)
    claimed(report, run, claim)
    options: dict[str, Any] = {"chunk_rows": chunk_rows, "rows": rows, "as_of": as_of,
                               "uplift": uplift, "open_since": run.open_task_since(),
                               "skip": claim.rows_done}
    try:
        source: Any = PreparedInThreads(settings, served, run.dataset, run.data, run.columns,
                                        run.db.dialect, **options)
        if child is not None:  # the same preparation, run by the child (`serving.batchproc`)
            source = child.PreparedInChild(source)
            report.prepared_in = "child process"
        report.setup_seconds = round(time.perf_counter() - started, 3)
        try:
            with collector_paused(), ChunkWriter(run.db, report, settings.batch_commit_rows,
                                                 settings.task_due_days, run=claim) as writer:
                for chunk in source:
                    writer.write(chunk)
            committed = time.perf_counter()
            run.complete(claim)
        finally:
            source.close()
    finally:
        report.open_tasks_after = run.open_tasks()
    report.treeshap_rows = (report.scored if source.treeshap_rows is None
                            else source.treeshap_rows)
    report.seconds = round(time.perf_counter() - started, 3)
    report.teardown_seconds = round(time.perf_counter() - committed, 3)
    return report


def claimed(report: BatchReport, run: Run, claim: RunClaim) -> None:
    """What the report says of the run: its file's digest and, resumed, what the earlier
    attempts had committed."""
    report.data_digest = run.data_digest
    report.resumed = claim.resumed
    report.skipped_done, report.scored_before = claim.rows_done, claim.scored


def estimated_rows(path: Path, rows: int | None = None) -> int:
    """About how many rows `score_file` will read from `path` (at most `rows`): a
    Parquet file's own count; for a CSV file, its size over the length of its first
    lines (a compressed one counted at 5 bytes of text per byte). 0 for a file that is
    missing or unreadable: `read_chunks` says what is wrong with it."""
    try:
        return _estimated_rows(path, rows)
    except Exception:  # noqa: BLE001 - the file's problem is reported by the reader
        return 0


def _estimated_rows(path: Path, rows: int | None) -> int:
    if not path.is_file():
        return 0
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        found = pq.ParquetFile(path).metadata.num_rows
    else:
        size = path.stat().st_size
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            sample = f.read(1 << 16)
        if path.name.endswith(".gz"):
            size *= 5
        found = int(size / (len(sample) / max(1, sample.count(b"\n")))) if sample else 0
    return found if rows is None else min(rows, found)


def in_child(settings: Settings, path: Path, rows: int | None = None) -> bool:
    """Whether a run over `path` is prepared in a child process: from
    CHURN_BATCH_PROCESS_ROWS rows on (0: always). Below, starting the child costs more
    than the threads' turns on the interpreter lock."""
    limit = settings.batch_process_rows
    return limit == 0 or estimated_rows(path, rows) >= limit


class PreparedInThreads:
    """The chunks of a run, read, scored and explained by `AHEAD` threads of this
    process while the chunk before is written (LightGBM, numpy and SQLite release the
    interpreter lock for their own work). Iterate once; `treeshap_rows` is then the rows
    TreeSHAP computed with a memo (`phi_memo`), None without one (every row)."""

    def __init__(self, settings: Settings, served: ServedModel, dataset: DatasetSchema,
                 data: Path, columns: list[str], dialect: str, *, chunk_rows: int,
                 rows: int | None, as_of: datetime | None,
                 uplift: targeting.UpliftPlan | None,
                 open_since: Mapping[str, datetime], skip: int = 0) -> None:
        self.settings, self.served, self.dataset = settings, served, dataset
        self.data, self.columns, self.dialect = data, columns, dialect
        self.chunk_rows, self.rows, self.as_of = chunk_rows, rows, as_of
        self.uplift, self.open_since = uplift, open_since
        self.skip = skip  # the file's first rows, committed by a resumed run's earlier attempt
        self.treeshap_rows: int | None = None
        self._chunks: Generator[Chunk] | None = None

    def __iter__(self) -> Iterator[Chunk]:
        self._chunks = self._prepared()
        return self._chunks

    def _prepared(self) -> Generator[Chunk]:
        served, dataset = self.served, self.dataset
        pseudo = pseudonymiser(self.settings.pseudonym_secret)
        plan = ControlPlan.from_settings(self.settings)
        memo = phi_memo(served, self.settings)
        id_col = dataset.id_column
        # `AHEAD` chunks in flight bound the memory
        with ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="score") as pool:
            pending: deque = deque()
            for frame in ramp_up(skip_rows(read_chunks(
                    self.data, self.columns, self.chunk_rows, self.rows,
                    dataset.contact_column, categorical(served)), self.skip)):
                pending.append(pool.submit(
                    _prepare, self.dialect, served, frame, id_col, pseudo, served.thresholds,
                    memo=memo, as_of=self.as_of, plan=plan,
                    contact_col=dataset.contact_column, uplift=self.uplift,
                    value_col=dataset.value_column, open_since=self.open_since))
                if len(pending) > AHEAD:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        self.treeshap_rows = memo.computed if memo else None

    def close(self) -> None:
        """Stop early (the writer failed): the chunks being prepared are waited for."""
        if self._chunks is not None:
            self._chunks.close()


def targeting_report(plan: ControlPlan, uplift: targeting.UpliftPlan | None
                     ) -> dict[str, Any]:
    """The rule a run applies, as its report states it (a run under CHURN_TARGETING=uplift
    without a loadable uplift model applies risk, and says so)."""
    if plan.targeting == "uplift" and uplift is not None:
        return {"targeting": "uplift",
                "uplift_model": f"{uplift.uri} (v{uplift.version})" if uplift.version
                else uplift.uri}
    return {"targeting": "risk", "uplift_model": None}


def phi_memo(served: ServedModel, settings: Settings) -> PhiMemo | None:
    """The run's memo of explained rows. None (every row is sent to TreeSHAP) with
    CHURN_BATCH_MEMO_ROWS=0, and for a model explained by table (`models.treeshap`, the
    default's small trees), where looking a row up costs more than explaining it."""
    if settings.batch_memo_rows == 0 or served.model.explained_by_table:
        return None
    return PhiMemo(served.model, settings.batch_memo_rows)


def prepare_chunk(served: ServedModel, frame: pd.DataFrame, id_col: str, settings: Settings,
                  dialect: str, threads: int | None = None,
                  memo: PhiMemo | None = None, contact_col: str | None = None,
                  uplift: targeting.UpliftPlan | None = None,
                  value_col: str | None = None, as_of: datetime | None = None,
                  open_since: Mapping[str, datetime] | None = None) -> Chunk:
    """Score and explain one chunk into storage rows, touching no database (the unit a
    Dask worker runs); a `ChunkWriter` stores it. `uplift`: the uplift plan the driver
    loaded (CHURN_TARGETING=uplift), applied by the same `targeting.target` as every
    path; `open_since`: the customers' open tasks as the run read them at its start
    (`Run.open_task_since`)."""
    return _prepare(dialect, served, frame, id_col, pseudonymiser(settings.pseudonym_secret),
                    served.thresholds, threads, memo, ControlPlan.from_settings(settings),
                    as_of=as_of, contact_col=contact_col, uplift=uplift, value_col=value_col,
                    open_since=open_since)


@dataclass
class Chunk:
    """One chunk, scored and explained, in storage form, ready to write."""

    rows_read: int
    without_id: int
    duplicates: int
    invalid: Counter  # rows the model must not score, by (feature, problem)
    objected: int
    restricted: int
    customers: list[LatestEntry]  # scored customers with their new risk-list entry
    predictions: list[PredictionRow]
    tasks: list[TaskRow]
    high: int
    scored_at: datetime  # when the chunk was scored (every row's time)
    # the customers' addresses (the schema's contact_column), kept apart from the rows
    contacts: file_contacts.FileContacts | None = None
    values_invalid: int = 0  # value_column cells replaced by the default value
    # customers left out of the control draw: an open task from an earlier campaign period
    # when the run began (`Run.open_task_since`)
    carried: frozenset[str] = frozenset()

    # A chunk crosses a process boundary (the preparation process, a Dask worker's
    # result) with its rows as columns: pickling a list of named tuples cost 5.6 µs a row
    # to dump and 2.8 to load, columns 0.7 and 0.5 (plus 0.3 to make the rows again).
    _ROWS = (("predictions", PredictionRow), ("customers", LatestEntry), ("tasks", TaskRow))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name, _ in self._ROWS:
            state[name] = list(zip(*state[name], strict=True))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, kind in self._ROWS:
            state[name] = list(map(kind._make, zip(*state[name], strict=True)))
        self.__dict__.update(state)

    def restamp(self, at: datetime, dialect: str) -> None:
        """Give every row the time `at` instead."""
        value = bulk.storage_time(dialect, at)
        self.predictions = [p._replace(created_at=value) for p in self.predictions]
        self.customers = [c._replace(at=value) for c in self.customers]
        self.tasks = [t._replace(created_at=value) for t in self.tasks]
        self.scored_at = at


def _prepare(dialect: str, served: ServedModel, frame: pd.DataFrame, id_col: str,
             pseudo, t, threads: int | None = None,  # noqa: ANN001
             memo: PhiMemo | None = None, plan: ControlPlan | None = None,
             as_of: datetime | None = None, contact_col: str | None = None,
             uplift: targeting.UpliftPlan | None = None,
             value_col: str | None = None,
             open_since: Mapping[str, datetime] | None = None) -> Chunk:
    """Everything but the writes: pseudonymise, encode, score and explain the whole
    chunk in one pass (each distinct row once, with a memo), build the rows.
    `open_since`: each customer's open or claimed task -> its creation time, read at the
    start of the run (this touches no database): who is left out of the control draw."""
    rows_read = len(frame)
    ids = frame[id_col].astype("string").str.strip()
    has_id = ids.notna() & (ids != "")
    frame, ids = frame[has_id.to_numpy()], ids[has_id].astype(str)
    # an id the API would refuse (customer_id_ok) is skipped and counted like a bad value:
    # such a customer could never be linked nor erased
    routable = ids.map(customer_id_ok).to_numpy(dtype=bool)
    bad_ids = int((~routable).sum())
    if bad_ids:
        frame, ids = frame[routable], ids[routable]
    last = ~ids.duplicated(keep="last").to_numpy()  # one prediction per customer per run
    frame, ids = frame[last], ids[last].tolist()
    # the address is taken before the features are checked: a customer whose row cannot
    # be scored may still be told things (stored if they are known from an earlier run)
    contacts = (file_contacts.from_frame(frame, [pseudo(i) for i in ids], contact_col)
                if contact_col else None)
    # each customer's value (issue 17), read apart like the address; only uplift
    # targeting uses it
    values, values_invalid = (targeting.customer_values(frame[value_col].tolist())
                              if value_col else ([None] * len(ids), 0))
    model = served.model
    frame = model.encoder.conform(frame)  # categories spelt as training read them
    # A row outside the model's input domain is skipped and counted, never scored: one
    # bad value must neither stop the run nor be explained to anyone.
    X = model.encoder.encode_frame(frame)
    bad, invalid = model.encoder.invalid_rows(frame, X)
    if bad_ids:
        invalid = {**invalid, ("customer_id", f"not {CUSTOMER_ID_RULE}"): bad_ids}
    if invalid:
        keep = (~bad).tolist()
        X, ids = X[~bad], [i for i, k in zip(ids, keep, strict=True) if k]
        values = [v for v, k in zip(values, keep, strict=True) if k]
    refs = np.array([pseudo(i) for i in ids], dtype=object)
    # Write in key order: index pages are then touched in sequence, not at random.
    order = np.argsort(refs, kind="stable")
    refs, ids = refs[order].tolist(), [ids[k] for k in order]
    values = [values[k] for k in order]
    now = as_of or datetime.now(UTC)
    at = bulk.storage_time(dialect, now)
    # objecting and restricted customers are left out at write time (see `_store`)
    chunk = Chunk(rows_read=rows_read, without_id=int((~has_id).sum()),
                  duplicates=int((~last).sum()), invalid=invalid, objected=0, restricted=0,
                  customers=[], predictions=[], tasks=[], high=0, scored_at=now,
                  contacts=contacts, values_invalid=values_invalid)
    if not refs:
        return chunk
    X = np.ascontiguousarray(X[order], dtype=np.float64)
    ex = model.explanation(X, (memo or model).phi(X, threads))
    bands, human, _near = routes(ex.score, t)
    feats = decoded_json(served.spec, X)
    shap_rows = np.ascontiguousarray(ex.shap, dtype="<f8")
    base = float(ex.base_value)
    pids = new_ids(len(refs))
    scores = ex.score.tolist()
    margins = ex.margin.tolist()
    bands_l = bands.tolist()
    reasons = route_many(scores, t)
    # Built a column at a time (this runs for every row of the base): one bytes buffer
    # sliced per receipt, constants repeated, no per-row attribute look-ups.
    width = shap_rows.shape[1] * shap_rows.itemsize
    buf = shap_rows.tobytes()
    shaps = [buf[i:i + width] for i in range(0, len(buf), width)]
    rep = itertools.repeat
    chunk.predictions = list(map(PredictionRow._make, zip(
        pids, refs, rep(served.name), rep(served.version), scores, margins, rep(base),
        bands_l, feats, shaps, [r.action for r in reasons], [r.reason for r in reasons],
        rep("batch"), rep("batch"), rep(False), rep(at), rep(served.contract_version),
        rep(None), rep("risk"), rep(None), rep(None), rep(None), rep(None), rep(None),
        rep(None), strict=False)))
    chunk.customers = list(map(LatestEntry._make, zip(refs, ids, pids, scores, bands_l,
                                                      rep(at), strict=False)))
    # each task's id is minted as the chunk is written, in file order (`_store`)
    chunk.tasks = [TaskRow("", refs[n], pids[n], scores[n], reasons[n].reason, at)
                   for n in np.flatnonzero(human).tolist()]
    # who gets a task (issue 17): the control group's draw (a held-out receipt is routed
    # nowhere; a customer carrying an open task from an earlier period is not drawn), then
    # under uplift targeting only contact worth its cost; one function for every path
    # (serving/loop/targeting.py)
    own = {pid: v for pid, v in zip(pids, values, strict=True) if v is not None}
    chunk.carried = carried_over(plan, refs, open_since or {}, now)
    chunk.predictions, chunk.tasks = targeting.target(plan, uplift, chunk.predictions,
                                                      chunk.tasks, now, own, carried=chunk.carried)
    return chunk


class ChunkWriter:
    """Stores prepared chunks; the report counts committed rows only.

    SQLite: several chunks per transaction, committed once `commit_rows` rows wait (and
    at the end). Each SQLite commit rewrites every index page the chunks touched, and
    pseudonyms land all over the customer indexes, so on a large base fewer, larger
    commits cost much less. PostgreSQL: one transaction per chunk, whose customer rows
    are locked in key order, so concurrent runs and API requests cannot deadlock with it.
    Either way the chunks' audit events are appended last, just before the commit: the
    audit chain head is locked for the shortest time. With `run` (the run this process
    holds, `Run.claim`) each commit first adds its rows of the file to the run's record,
    in the same transaction, and is refused (`RunTakenOver`, rolled back) if another
    process has taken the run over."""

    def __init__(self, db: Database, report: BatchReport, commit_rows: int,
                 due_days: int, run: RunClaim | None = None) -> None:
        self.db = db
        self.report = report
        self.run = run
        self.commit_rows = commit_rows if db.dialect == "sqlite" else 1
        self.due_days = due_days  # Settings.task_due_days: when the tasks opened are due
        self._session: Session | None = None
        self._lock: AbstractContextManager | None = None
        self._pending: list[dict[str, Any]] = []
        self._rows = 0
        self._last_at: datetime | None = None

    def write(self, chunk: Chunk) -> None:
        """Store `chunk`; chunks must come in file order."""
        if chunk.rows_read == 0:
            return  # an empty piece of a small file: nothing read, nothing to record
        # A customer listed twice in a file ends with the later row, as within a chunk. The
        # risk list keeps a customer's newest receipt by time, and chunks scored side by
        # side (threads, Dask workers) may finish their clocks out of file order.
        if self._last_at is not None and chunk.scored_at < self._last_at:
            chunk.restamp(self._last_at, self.db.dialect)
        self._last_at = chunk.scored_at
        if self._session is None:
            self._session = self.db.sessions()
            self._lock = write_lock(self._session)
            self._lock.__enter__()
        self._pending.append(_store(self._session, chunk, self.due_days))
        if chunk.contacts is not None:  # after `_store`: the customers' rows exist now
            self._pending[-1] |= {
                "contacts_stored": store_access.upsert_contacts(
                    self._session, chunk.contacts.found, "batch"),
                "contacts_invalid": len(chunk.contacts.bad_rows),
                "_contact_rows": chunk.contacts.bad_rows}
        self._rows += len(chunk.predictions)
        if self._rows >= self.commit_rows:
            self.commit()

    def commit(self) -> None:
        if self._session is None:
            return
        try:
            if self.run is not None and not batch_runs.advance(
                    self._session, self.run.run_id, self.run.attempt,
                    sum(c["rows_read"] for c in self._pending),
                    sum(c["scored"] for c in self._pending), datetime.now(UTC)):
                self._pending, self._rows = [], 0
                raise RunTakenOver(
                    f"another run of the same file ({self.report.data}, model "
                    f"{self.report.model_name} v{self.report.model_version}) took this run "
                    "over: this process stops, its last transaction rolled back; the other "
                    "goes on from the rows committed so far (none is scored twice)")
            for counts in self._pending:  # one summary event per chunk
                audit.batch_chunk(self._session, counts.pop("_ends"),
                                  counts["scored"], counts["human_contact"],
                                  counts["skipped_restricted"], counts["skipped_objected"],
                                  tasks_created=counts["tasks_created"],
                                  task_ends=counts.pop("_task_ends"))
                if counts.get("contacts_stored"):  # counts only: never an address
                    audit.append(self._session, "batch", audit.CONTACT_SET,
                                 objects={"via": "customer_file",
                                          "stored": counts["contacts_stored"]})
            self._session.commit()
        finally:
            self._release()
        for counts in self._pending:
            rows, room = self.report.contacts_invalid_rows, file_contacts.MAX_ROWS_REPORTED
            rows += counts.pop("_contact_rows", [])[:room - len(rows)]
            for (feature, problem), n in counts.pop("_invalid").items():
                key = f"{feature}: {problem}"
                self.report.invalid_reasons[key] = self.report.invalid_reasons.get(key, 0) + n
            for key, value in counts.items():
                setattr(self.report, key, getattr(self.report, key) + value)
        log.info("committed %d rows (%d so far)", self._rows, self.report.scored)
        self._pending, self._rows = [], 0
        # any cycles the committed chunks left go now, not at the end of a run whose
        # collector is paused (`collector_paused`)
        gc.collect(1)

    def rollback(self) -> None:
        if self._session is not None:
            try:
                self._session.rollback()
            finally:
                self._release()
        self._pending, self._rows = [], 0

    def _release(self) -> None:
        assert self._session is not None and self._lock is not None
        self._lock.__exit__(None, None, None)
        self._session.close()
        self._session = self._lock = None

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if exc_type is None:
            self.commit()
        else:
            self.rollback()


def _store(session: Session, chunk: Chunk, due_days: int) -> dict[str, int]:
    """Write one chunk in the session's transaction: customers, receipts, risk-list
    entries, tasks (due `due_days` later), and the chunk's audit event; returns its
    report counters."""
    db = Receipts(session)
    # Erased customers never come back, even when the file still lists them. The
    # tombstones are few: all of them are read, not looked up row by row.
    gone = db.erased()
    erased = 0
    if gone:
        before = len(chunk.customers)
        chunk.customers = [c for c in chunk.customers if c.customer_ref not in gone]
        chunk.predictions = [p for p in chunk.predictions if p.customer_ref not in gone]
        chunk.tasks = [t for t in chunk.tasks if t.customer_ref not in gone]
        erased = before - len(chunk.customers)
    # customers first: receipts and tasks reference them
    db.move_latest(chunk.customers)
    # Customers who objected or whose record is restricted get no receipt and no task.
    # The upsert now holds these customers' rows (PostgreSQL row locks; SQLite's single
    # writer), so a dispute or objection cannot slip in before the commit.
    flagged = db.flagged()
    if flagged:
        skipped = [p.customer_ref for p in chunk.predictions if p.customer_ref in flagged]
        chunk.objected = sum(1 for r in skipped if flagged[r])
        chunk.restricted = len(skipped) - chunk.objected
        chunk.predictions = [p for p in chunk.predictions if p.customer_ref not in flagged]
        chunk.tasks = [t for t in chunk.tasks if t.customer_ref not in flagged]
    # A row with exactly the values of one of the customer's overturned receipts is kept
    # withdrawn, routed nowhere, and the customer stays off the risk list (as online).
    overturned = db.overturned() if chunk.predictions else {}
    repeats = 0
    if overturned:
        again = {p.id for p in chunk.predictions
                 if repeats_overturned(p.features, overturned.get(p.customer_ref, frozenset()))}
        if again:
            repeats = len(again)
            chunk.predictions = [
                p._replace(route_action=OVERTURNED.action, route_reason=OVERTURNED.reason,
                           withdrawn=True, arm=None) if p.id in again else p
                for p in chunk.predictions]
            chunk.tasks = [t for t in chunk.tasks if t.prediction_id not in again]
            db.clear_entries([(p.customer_ref, p.id) for p in chunk.predictions
                              if p.id in again])
    # A customer left out of the draw follows their task from an earlier period. One whose
    # task closed after the run read it (an agent finished it meanwhile) gets no new task
    # on this receipt: it would be a task of this period held by a customer in neither
    # arm, whom the next score, drawing them, could hold out with it. The next score draws
    # them. (Read under the customers' locks taken above, as an agent's close takes them.)
    follow = [t.customer_ref for t in chunk.tasks if t.customer_ref in chunk.carried]
    if follow:
        still = db.open_task_ids(follow)
        chunk.tasks = [t for t in chunk.tasks
                       if t.customer_ref not in chunk.carried or t.customer_ref in still]
    chunk.high = sum(1 for p in chunk.predictions if p.risk_band == "high" and not p.withdrawn)
    db.insert(chunk.predictions)
    # ids minted here, chunk after chunk: chunks prepared side by side (threads, Dask
    # workers) would mint interleaved ids within a millisecond, and the audit event's
    # first and last task would then enclose another chunk's
    chunk.tasks = [t._replace(id=i) for t, i in zip(chunk.tasks, ascending_ids(len(chunk.tasks)),
                                                    strict=True)]
    opened = sorted(t.id for t in db.open_tasks(chunk.tasks, due_days))
    # what the chunk's audit event names (first and last receipt); appended at commit
    ends = chunk.predictions[:1] + chunk.predictions[-1:] if chunk.predictions else []
    return {"_ends": ends, "_invalid": chunk.invalid, "rows_read": chunk.rows_read,
            "_task_ends": opened[:1] + opened[-1:], "tasks_created": len(opened),
            "skipped_without_id": chunk.without_id,
            "duplicate_ids": chunk.duplicates, "skipped_objected": chunk.objected,
            "skipped_invalid": sum(chunk.invalid.values()),
            "skipped_restricted": chunk.restricted, "skipped_erased": erased,
            "scored": len(chunk.predictions), "high": chunk.high,
            "repeated_overturned": repeats, "values_invalid": chunk.values_invalid,
            "human_contact": len(chunk.tasks)}


def report_json(report: BatchReport) -> str:
    return json.dumps(report.as_dict(), indent=2)
