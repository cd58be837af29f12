"""Batch scoring on Dask: the customer base split into partitions scored in parallel.

A `LocalCluster` (one single-threaded process per worker) by default, or any running
scheduler named by `DASK_SCHEDULER_ADDRESS`. Every worker loads the same pinned model
version from the registry once and scores and explains whole partitions with the very
function the single-process path uses (`serving.batch.prepare_chunk`). The driver is the
one writer: it stores each partition as it arrives (one transaction per CHURN_BATCH_COMMIT_ROWS),
with the single-process path's `ChunkWriter`, so the result is the same and SQLite never
sees two writing processes. At most two partitions per worker are in flight, so memory
stays flat however many rows the file has.

Workers on other machines need the same `CHURN_*` settings and the MLflow registry at
the same address; only the driver talks to the database.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from pathlib import Path

import pandas as pd

from serving.batch import (
    BatchReport,
    Chunk,
    ChunkWriter,
    phi_memo,
    prepare_chunk,
    prepare_run,
    ramp_pieces,
)
from serving.config import Settings
from serving.memo import PhiMemo
from serving.modelhost import ModelHost, ServedModel

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# one model (and its memo of explained rows) per worker process, reused by every partition
_worker_models: dict[tuple[str, str], tuple[ServedModel, PhiMemo | None]] = {}
_worker_lock = threading.Lock()


def _worker_model(settings: Settings, pinned_uri: str) -> tuple[ServedModel, PhiMemo | None]:
    key = (settings.tracking_uri, pinned_uri)
    with _worker_lock:
        if key not in _worker_models:
            served = ModelHost(settings).reload(pinned_uri)
            _worker_models[key] = (served, phi_memo(served, settings))
        return _worker_models[key]


def _warm(settings: Settings, pinned_uri: str) -> None:
    _worker_model(settings, pinned_uri)


def _prepare_partition(frame: pd.DataFrame, settings: Settings, pinned_uri: str,
                       id_col: str, dialect: str, piece: int | None = None) -> Chunk:
    """Score and explain one partition, or (`piece`) one of its `ramp_pieces`."""
    if piece is not None:
        lo, hi = ramp_pieces(len(frame))[piece]
        frame = frame.iloc[lo:hi]
    served, memo = _worker_model(settings, pinned_uri)
    # parallelism comes from the workers: one LightGBM thread each
    return prepare_chunk(served, frame, id_col, settings, dialect, threads=1, memo=memo)


def _peak_rss_mib() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _partitions(path: Path, columns: list[str], chunk_rows: int) -> list:
    """Delayed partitions of about `chunk_rows` rows (Parquet: split by row groups)."""
    import dask.dataframe as dd

    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        ddf = dd.read_parquet(str(path), columns=columns, split_row_groups=True)
        rows = pq.ParquetFile(path).metadata.num_rows
        wanted = max(1, -(-rows // chunk_rows))
        if wanted > ddf.npartitions:
            ddf = ddf.repartition(npartitions=wanted)
    else:
        # CSV: partitions of about chunk_rows rows (100 bytes a row is a fair estimate)
        ddf = dd.read_csv(str(path), usecols=columns,
                          blocksize=max(1_000_000, chunk_rows * 100),
                          dtype={columns[0]: str}, keep_default_na=True)
    return ddf.to_delayed()


def score_file_dask(settings: Settings, data: str | Path, schema: str | Path | None = None,
                    *, workers: int = 2, scheduler_address: str | None = None,
                    chunk_rows: int | None = None) -> BatchReport:
    """Score every customer in `data` on a Dask cluster; same result as `score_file`."""
    from dask import delayed
    from dask.distributed import Client, LocalCluster, as_completed

    started = time.perf_counter()
    run = prepare_run(settings, data, schema)
    pinned = f"models:/{run.served.name}/{run.served.version}"
    report = BatchReport(data=str(data), model_name=run.served.name,
                         model_version=run.served.version,
                         open_tasks_before=run.open_tasks())
    address = scheduler_address or os.environ.get(SCHEDULER_ENV)
    cluster = None
    try:
        if address:
            client = Client(address)
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        try:
            # every worker loads the model before the clock of the scoring pass starts
            client.run(_warm, settings, pinned)
            report.setup_seconds = round(time.perf_counter() - started, 3)
            parts = _partitions(Path(data), run.columns, chunk_rows or settings.batch_chunk_rows)
            # the first partition in growing pieces (one read), so the driver starts writing
            # at once, as on the single-process path
            first = [(parts[0], k) for k in range(len(ramp_pieces(0)))] if parts else []
            tasks = iter([delayed(_prepare_partition)(p, settings, pinned, run.id_column,
                                                      run.db.dialect, piece)
                          for p, piece in [*first, *((p, None) for p in parts[1:])]])
            in_flight = 2 * max(1, len(client.scheduler_info()["workers"]))
            pending = as_completed()
            for task in itertools.islice(tasks, in_flight):
                pending.add(client.compute(task))
            with ChunkWriter(run.db, report, settings.batch_commit_rows) as writer:
                for future in pending:
                    chunk = future.result()
                    future.release()
                    nxt = next(tasks, None)
                    if nxt is not None:
                        pending.add(client.compute(nxt))
                    writer.write(chunk)
            committed = time.perf_counter()
            report.worker_peak_rss_mib = max(client.run(_peak_rss_mib).values(), default=None)
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        report.open_tasks_after = run.open_tasks()
        run.close()
    report.seconds = round(time.perf_counter() - started, 3)
    report.teardown_seconds = round(time.perf_counter() - committed, 3)
    return report
