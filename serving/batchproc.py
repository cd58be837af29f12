"""A large batch file's chunks read, scored and explained in a child process, while this
process only writes them (`serving.batch.score_file`).

With the preparation in threads of the writing process, the two took turns on one
interpreter lock: SQLite releases it for every row it steps through, and took it back
only when the preparing threads let go. Measured at 1,000,000 rows on 2 cores, the writer
spent 56 s on a pass it does alone in 30 s of CPU. Here the child runs the run's
preparation (`serving.batch.PreparedInThreads`, built here and sent over): it reads the
file, scores and explains each chunk and puts it on a bounded queue, its rows as columns
(`Chunk.__getstate__`); this process writes the chunks in file order, as before. Nothing
else changes: the same rows, the same receipts, the same commits.

The child is forked from the service's fork server (`serving.children`), which imported
this module once; the model crosses once, pickled, as it does to Dask workers. It ends
when the file is done; when this process stops early (an error, the writer failing), it
is stopped; if this process dies, it notices and exits. An error in the child (a file
that cannot be read, a bad value the checks let through) is raised here, as the threads'
errors are, with its own class and message.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import queue
import signal
from collections.abc import Iterator
from typing import Any

from serving.batch import AHEAD, Chunk, PreparedInThreads, collector_paused
from serving.children import forkserver, picklable

START_SECONDS = 120.0  # a child not ready by then (model unpickled) is a failed start
POLL_SECONDS = 1.0  # how often each side checks that the other is still there


class PrepareLost(RuntimeError):
    """The preparation process ended without finishing the file: what was committed
    stays committed (a run commits every CHURN_BATCH_COMMIT_ROWS rows), the rest was not
    written; run the same command again: it resumes after the committed rows
    (`serving.batch`)."""


def _put(q: Any, item: Any) -> None:
    """Put `item` on the bounded queue, giving up (exiting) if the parent is gone."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            q.put(item, timeout=POLL_SECONDS)
            return
        except queue.Full:
            if parent is not None and not parent.is_alive():
                os._exit(1)


def produce(q: Any, prepared: PreparedInThreads) -> None:
    """The child: prepare every chunk of the file and put it on `q` in file order, then
    ("done", rows TreeSHAP computed); ("error", exception) if anything fails."""
    # a Ctrl-C reaches the whole process group: the parent decides, and stops the child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _put(q, ("ready", None))
        with collector_paused():
            for chunk in prepared:
                _put(q, ("chunk", chunk))
        _put(q, ("done", prepared.treeshap_rows))
    except BaseException as exc:  # noqa: BLE001 - every failure is the parent's to raise
        _put(q, ("error", picklable(exc)))
    finally:
        q.close()
        q.join_thread()  # everything put is sent before the child exits


def warm_up() -> None:
    """Start the fork server now (if it is not running yet): it imports this module's
    dependencies while the caller loads the model, instead of after."""
    forkserver(__name__)
    multiprocessing.forkserver.ensure_running()


class PreparedInChild:
    """The chunks of a run, prepared by a child process; iterate once, then `close`.
    `treeshap_rows` is known once the last chunk came."""

    def __init__(self, prepared: PreparedInThreads) -> None:
        ctx = forkserver(__name__)
        # AHEAD chunks wait while this process writes one, as with the threads
        self._q = ctx.Queue(maxsize=AHEAD)
        # the run's preparation, not yet started, sent once (the model pickled, as to
        # Dask workers); the child never touches the database
        self._proc = ctx.Process(target=produce, args=(self._q, prepared),
                                 name="churn-batch-prepare", daemon=True)
        self._proc.start()
        # This process only reads. Without its own copy of the write end, a child killed
        # in the middle of a message (a chunk is larger than the pipe's buffer) ends the
        # read with end-of-file; with it, the read would wait forever for the rest.
        self._q._writer.close()  # type: ignore[attr-defined]
        self.treeshap_rows: int | None = None
        try:
            kind, _ = self._get(START_SECONDS)
        except BaseException:
            self.close()
            raise
        if kind != "ready":  # pragma: no cover - the child's first message is "ready"
            self.close()
            raise PrepareLost(f"the preparation process did not start: {kind}")

    def _get(self, patience: float | None = None) -> tuple[str, Any]:
        waited = 0.0
        while True:
            try:
                return self._q.get(timeout=POLL_SECONDS)
            except (EOFError, OSError):  # it died in the middle of a message
                raise self._lost() from None
            except queue.Empty:
                waited += POLL_SECONDS
                if not self._proc.is_alive():
                    # it may have put its last message just before ending
                    try:
                        return self._q.get(timeout=POLL_SECONDS)
                    except (queue.Empty, EOFError, OSError):
                        raise self._lost() from None
                if patience is not None and waited >= patience:
                    raise PrepareLost(f"the preparation process was not ready after "
                                      f"{patience:g} s") from None

    def _lost(self) -> PrepareLost:
        self._proc.join(POLL_SECONDS)  # its exit code, once it has ended
        return PrepareLost(
            f"the preparation process ended (exit code {self._proc.exitcode}) before the "
            "file was done: what was committed stays; run the same command again (it "
            "resumes after the committed rows)")

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            kind, value = self._get()
            if kind == "chunk":
                yield value
            elif kind == "done":
                self.treeshap_rows = value
                return
            else:
                raise value

    def close(self) -> None:
        """Stop the child if it still runs (an early stop), and wait for it."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(10)
        if self._proc.is_alive():  # pragma: no cover - SIGTERM is not ignored there
            self._proc.kill()
            self._proc.join()
        self._q.close()
        self._q.cancel_join_thread()

    def __enter__(self) -> PreparedInChild:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
