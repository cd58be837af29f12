"""Batch scoring on Dask: the customer base split into partitions scored in parallel.

A `LocalCluster` (one single-threaded process per worker) by default, or any running
scheduler named by `DASK_SCHEDULER_ADDRESS`. Every worker loads the same pinned model
version from the registry once, scores and explains whole partitions with the very
function the single-process path uses (`serving.batch.score_chunk`), and writes its
receipts and tasks to the shared database in batches. Open tasks are deduplicated by
the database's partial unique index, so parallel writers cannot open a task twice.

Workers on other machines need the same `CHURN_*` settings, the MLflow registry and
the database reachable at the same addresses.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pandas as pd

from serving.batch import BatchReport, prepare_run, score_chunk
from serving.config import Settings
from serving.modelhost import ModelHost, ServedModel
from serving.storage import Database

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
_COUNTERS = ["rows_read", "scored", "skipped_objected", "skipped_restricted",
             "skipped_without_id", "duplicate_ids", "high", "human_contact"]

# one model and one connection pool per worker process, reused by every partition
_worker_state: dict[tuple[str, str, str], tuple[ServedModel, Database]] = {}
_worker_lock = threading.Lock()


def _worker_resources(settings: Settings, pinned_uri: str) -> tuple[ServedModel, Database]:
    key = (settings.database_url, settings.tracking_uri, pinned_uri)
    with _worker_lock:
        if key not in _worker_state:
            served = ModelHost(settings).reload(pinned_uri)
            _worker_state[key] = (served, Database(settings.database_url))
        return _worker_state[key]


def _score_partition(frame: pd.DataFrame, settings: Settings, pinned_uri: str,
                     id_col: str) -> pd.DataFrame:
    served, db = _worker_resources(settings, pinned_uri)
    report = BatchReport(data="", model_name=served.name, model_version=served.version)
    if len(frame):
        # parallelism comes from the workers: one LightGBM thread each
        score_chunk(db, served, frame, id_col, settings, report, threads=1)
    return pd.DataFrame([{k: getattr(report, k) for k in _COUNTERS}])


def _read(path: Path, columns: list[str], chunk_rows: int):  # noqa: ANN202
    import dask.dataframe as dd

    if path.suffix.lower() == ".parquet":
        return dd.read_parquet(str(path), columns=columns, split_row_groups=True)
    # CSV: partitions of about chunk_rows rows (100 bytes a row is a fair estimate)
    return dd.read_csv(str(path), usecols=columns, blocksize=max(1_000_000, chunk_rows * 100),
                       dtype={columns[0]: str}, keep_default_na=True)


def score_file_dask(settings: Settings, data: str | Path, schema: str | Path | None = None,
                    *, workers: int = 2, scheduler_address: str | None = None,
                    chunk_rows: int | None = None) -> BatchReport:
    """Score every customer in `data` on a Dask cluster; same result as `score_file`."""
    from dask.distributed import Client, LocalCluster

    started = time.perf_counter()
    run = prepare_run(settings, data, schema)
    pinned = f"models:/{run.served.name}/{run.served.version}"
    report = BatchReport(data=str(data), model_name=run.served.name,
                         model_version=run.served.version,
                         open_tasks_before=run.open_tasks())
    address = scheduler_address or os.environ.get(SCHEDULER_ENV)
    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    try:
        ddf = _read(Path(data), run.columns, chunk_rows or settings.batch_chunk_rows)
        meta = pd.DataFrame({k: pd.Series(dtype="int64") for k in _COUNTERS})
        counts = ddf.map_partitions(_score_partition, settings, pinned, run.id_column,
                                    meta=meta).compute()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for k in _COUNTERS:
        setattr(report, k, int(counts[k].sum()))
    report.open_tasks_after = run.open_tasks()
    run.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report

