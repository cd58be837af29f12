"""Batch scoring on Dask: the customer base split into partitions scored in parallel.

A `LocalCluster` by default (each worker process runs one chunk at a time, TreeSHAP on its
share of the cores), or any running scheduler named by `DASK_SCHEDULER_ADDRESS` (a worker
runs as many chunks at once as it has threads). This process checks the inputs, loads the
pinned model version from the registry and sends that very model to every worker once;
it then reads the file in the single-process path's chunks (`read_chunks`, the first one
cut by `ramp_up`) and hands each chunk to a worker, which scores and explains it with the
function the single-process path uses (`serving.batch.prepare_chunk`). This process is
also the one writer: it stores the chunks in file order, with the single-process path's
`ChunkWriter`, so the result is the same and SQLite never sees two writing processes.
At most two chunks per worker thread are in flight, so memory stays flat however many
rows the file has.

Workers need the project's code installed; they need neither the data file nor the
MLflow registry nor the database, so any Dask cluster that can import `serving` will do.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pandas as pd

from serving.batch import (
    BatchError,
    BatchReport,
    Chunk,
    ChunkWriter,
    categorical,
    claimed,
    collector_paused,
    phi_memo,
    prepare_chunk,
    prepare_run,
    ramp_up,
    read_chunks,
    skip_rows,
    targeting_report,
)
from serving.config import Settings
from serving.loop import targeting
from serving.loop.control import ControlPlan
from serving.memo import PhiMemo
from serving.modelhost import ServedModel

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# how long a run waits for a named scheduler to have at least one worker
WORKER_WAIT_SECONDS = 60
# a worker's memo of explained rows, kept across chunks (and across runs of the same model
# version on a long-lived cluster); only the latest version's, so memory stays bounded
_worker_memos: dict[tuple[str, str], PhiMemo | None] = {}
_worker_lock = threading.Lock()


def _worker_memo(served: ServedModel, settings: Settings) -> PhiMemo | None:
    key = (served.name, served.version)
    with _worker_lock:
        if key not in _worker_memos:
            _worker_memos.clear()
            _worker_memos[key] = phi_memo(served, settings)
        return _worker_memos[key]


def _prepare_partition(frame: pd.DataFrame, served: ServedModel, settings: Settings,
                       id_col: str, dialect: str, threads: int,
                       contact_col: str | None = None,
                       uplift: targeting.UpliftPlan | None = None,
                       value_col: str | None = None,
                       open_since: Mapping[str, datetime] | None = None) -> Chunk:
    """Score and explain one chunk on a worker with `threads` LightGBM threads; the
    targeting rule applied there is the one every path applies (`targeting.target`), with
    the uplift model the driver loaded and the open tasks the driver read at the start of
    the run (`open_since`: who is left out of the control draw); the worker's garbage
    collector paused meanwhile, as the single-process pass pauses it (`collector_paused`)."""
    with collector_paused():
        return prepare_chunk(served, frame, id_col, settings, dialect, threads=threads,
                             memo=_worker_memo(served, settings), contact_col=contact_col,
                             uplift=uplift, value_col=value_col, open_since=open_since)


def _peak_rss_mib() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _connect(address: str | None, workers: int):  # noqa: ANN202
    """A client of the named scheduler, or of a fresh LocalCluster (and that cluster), and
    the LightGBM threads each chunk may use."""
    from dask.distributed import Client, LocalCluster

    if address:
        client = Client(address)
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except TimeoutError as exc:
            client.close()
            raise BatchError(f"the Dask scheduler at {address} has no worker after "
                             f"{WORKER_WAIT_SECONDS} s: start one (dask worker {address}) "
                             f"or unset {SCHEDULER_ENV} to use a local cluster") from exc
        # a worker runs as many chunks at once as it has threads, one LightGBM thread each
        return client, None, 1
    # Here each worker runs one chunk at a time and TreeSHAP uses the worker's share of
    # this machine's cores: one worker on every core keeps one memo and beats as many
    # single-threaded workers (measured; README).
    threads = max(1, (os.cpu_count() or 1) // workers)
    # the workers import the scoring code as they start, not when the first chunk comes
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40,
                           preload=["serving.distributed"])
    return Client(cluster), cluster, threads


def _disconnect(client, cluster) -> None:  # noqa: ANN001
    client.close()
    if cluster is not None:
        cluster.close()


def score_file_dask(settings: Settings, data: str | Path, schema: str | Path | None = None,
                    *, workers: int | None = None, scheduler_address: str | None = None,
                    chunk_rows: int | None = None, rows: int | None = None,
                    resume: bool = True) -> BatchReport:
    """Score every customer in `data` (or its first `rows`) on a Dask cluster: the one
    named by `scheduler_address` or DASK_SCHEDULER_ADDRESS, else a LocalCluster of
    `workers` (default CHURN_BATCH_WORKERS). Same result as `score_file`, and the same
    runs: an unfinished run of the same file, model version (and no `as_of`) is resumed
    after its committed rows, whichever path began it; `resume=False` starts afresh."""
    started = time.perf_counter()
    address = scheduler_address or os.environ.get(SCHEDULER_ENV)
    # The cluster starts while this process checks the inputs and loads the model.
    with ThreadPoolExecutor(1, thread_name_prefix="dask-connect") as starter:
        connecting = starter.submit(_connect, address, workers or settings.batch_workers)
        try:
            run = prepare_run(settings, data, schema)
        except BaseException:
            if connecting.exception() is None:
                _disconnect(*connecting.result()[:2])
            raise
        try:
            client, cluster, threads = connecting.result()
        except BaseException:
            run.close()
            raise
    # CHURN_TARGETING=uplift: the uplift model is loaded here, once, and sent to the workers
    # with the churn model (they need no registry)
    plan = targeting.load_plan(settings)
    report = BatchReport(data=str(data), model_name=run.served.name,
                         model_version=run.served.version,
                         open_tasks_before=run.open_tasks(), prepared_in="dask",
                         **targeting_report(ControlPlan.from_settings(settings), plan))
    try:
        try:
            # the run this process writes: a new one, or the unfinished one resumed
            claim = run.claim(None, resume)
            claimed(report, run, claim)
            # the model loaded and checked here, sent once to every worker
            model = client.scatter(run.served, broadcast=True, hash=False)
            uplift = (client.scatter(plan, broadcast=True, hash=False)
                      if plan is not None else None)
            # the customers' open tasks, read once at the start of the run (who is left out
            # of the control draw) and sent once to every worker; in a list, since Dask
            # scatters a dict's values one by one
            since = run.open_task_since()
            open_since = (client.scatter([since], broadcast=True, hash=False)[0]
                          if since else None)
            report.setup_seconds = round(time.perf_counter() - started, 3)
            chunk = chunk_rows or settings.batch_chunk_rows
            frames = ramp_up(skip_rows(read_chunks(
                run.data, run.columns, chunk, rows, run.dataset.contact_column,
                categorical(run.served)), claim.rows_done))
            # rows in flight: two chunks per worker thread, so each always has the next
            limit = 2 * max(1, sum(client.nthreads().values())) * chunk
            pending: deque = deque()
            in_flight = 0

            def feed() -> None:
                nonlocal in_flight
                while in_flight < limit:
                    frame = next(frames, None)
                    if frame is None:
                        return
                    pending.append(client.submit(_prepare_partition, frame, model, settings,
                                                 run.id_column, run.db.dialect, threads,
                                                 run.dataset.contact_column, uplift,
                                                 run.value_column, open_since, pure=False))
                    in_flight += len(frame)

            with collector_paused(), ChunkWriter(run.db, report, settings.batch_commit_rows,
                                                 settings.task_due_days, run=claim) as writer:
                feed()
                while pending:  # in file order, as the single-process path writes
                    future = pending.popleft()
                    done = future.result()
                    future.release()
                    in_flight -= done.rows_read
                    feed()
                    writer.write(done)
            committed = time.perf_counter()
            run.complete(claim)
            report.worker_peak_rss_mib = max(client.run(_peak_rss_mib).values(), default=None)
        finally:
            _disconnect(client, cluster)
    finally:
        report.open_tasks_after = run.open_tasks()
        run.close()
    report.seconds = round(time.perf_counter() - started, 3)
    report.teardown_seconds = round(time.perf_counter() - committed, 3)
    return report
