"""The online durable write in a process of its own (`CHURN_WRITER=process`).

The server is one Python process. With the group-commit writer as a thread of it, the
write's Python work (the rows, the audit hash chain, the driver calls) took turns with
scoring and explaining on the one interpreter lock (SQLite's own C work releases it). Here
the server's event loop hands each group to a writer process down a pipe (no thread in
between: `serving.storage.group`), which stores and commits it on another core while the
loop scores the next requests. It is the
default (`CHURN_WRITER=process`): measured on a 2-core machine under wrk, about 1.5x the
thread's throughput once groups no longer wait to fill (`CHURN_GROUP_COMMIT_WAIT_MS`
unset means 0 here). Nothing else changes:

- a request is answered only after the writer process committed its group
  (`synchronous=FULL` on SQLite), and the answer carries what that transaction decided
  (routes, tasks, arms): the process runs the same `store` in the same group transaction
  (`serving.storage.group.commit`), and a failing group is retried job by job there;
- on SQLite the group's transaction takes the write lock before its first read (BEGIN
  IMMEDIATE), so a dispute or objection written meanwhile by the server is either seen
  or waits for the commit, as the thread's process-wide lock ensured before;
- if the process dies, the requests in flight get an error (503: nothing is acknowledged)
  and the next group starts a new process.

The process is started from the service's fork server (`serving.children`): forking the
server itself, with its threads and event loop, would be unsafe. Only what the write
reads crosses the pipe, as plain values (`serving.scoring.service.job_wire`), not the
model. An in-memory SQLite database cannot be shared between processes: the thread is
used for it.
"""

from __future__ import annotations

import importlib
import logging
import marshal
import multiprocessing.forkserver
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from serving.children import forkserver, picklable
from serving.storage.db import Database, sqlite_file
from serving.storage.group import Store, commit

log = logging.getLogger(__name__)

START_SECONDS = 60.0  # a writer process that is not ready by then is a failed start
_STOP = b""


class WriterLost(RuntimeError):
    """The writer process ended before it confirmed a group: nothing of it is
    acknowledged (the API answers 503; the next group starts a new process)."""


def shareable(url: str) -> bool:
    """Whether a second process can open the database at `url`: PostgreSQL, or an SQLite
    file named by its path (`db.sqlite_file`)."""
    return make_url(url).get_backend_name() != "sqlite" or sqlite_file(url)


def warm_up(writer: str, url: str, store: str) -> None:
    """Start the fork server of the writer process now, if the server will use one
    (`writer` "process" on a database another process can open): it imports what the
    process needs (`store`'s module) in the background, so that the process starts at
    once when the app is ready to hand it groups. Measured: the server answered about 3
    seconds sooner after its start (11-12 instead of 14-15 s on a 2-core machine)."""
    if writer != "process" or not shareable(url):
        return
    forkserver(__name__, store.split(":", 1)[0])
    multiprocessing.forkserver.ensure_running()


class WriterProcess:
    """Commits groups of jobs with `store` ("module:function") in a child process, on its
    own connection to `url`. A job crosses the pipe as `encode(job)` and its result comes
    back as `decode(result)` (plain values: marshal, much cheaper than pickling objects);
    `store` takes and returns the plain form. Groups are sent and answered by the
    group-commit leader: `run` in a thread (one at a time), or in an event loop `send`
    (a second group may follow before the first is answered: the process takes them in
    turn), then `receive` once `fileno` is readable, one reply per group, in order."""

    def __init__(self, url: str, store: str, encode: Callable[[Any], Any],
                 decode: Callable[[Any], Any]) -> None:
        self.url = url
        self.store = store
        self.encode = encode
        self.decode = decode
        self._conn: Any = None
        self._proc: Any = None
        self.starts = 0  # processes started (tests, metrics)

    def start(self) -> None:
        """Start the process and wait until it is ready for groups."""
        ctx = forkserver(__name__, self.store.split(":", 1)[0])
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=serve, args=(child, self.url, self.store),
                           name="churn-writer", daemon=True)
        proc.start()
        child.close()
        try:
            if not parent.poll(START_SECONDS):
                raise WriterLost(f"the writer process was not ready after {START_SECONDS:g} s")
            status, detail = parent.recv()
        except (EOFError, OSError) as exc:
            status, detail = "failed", f"it ended at start ({exc!r})"
        except WriterLost:
            proc.kill()
            proc.join()
            raise
        if status != "ready":
            proc.join(5)
            raise WriterLost(f"the writer process could not start: {detail}")
        self._conn, self._proc = parent, proc
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def run(self, jobs: Sequence[Any]) -> tuple[list[Any], int, int]:
        """`group.commit(db, store, jobs)`, done by the process (its outcomes, groups and
        jobs committed). `WriterLost` if the process ends meanwhile."""
        self.ensure()
        self.send(jobs)
        return self.receive()

    def ensure(self) -> None:
        """Start a new process if the last one ended (blocks while it starts: seconds)."""
        if not self.alive:
            self._discard()
            self.start()

    def fileno(self) -> int:
        """The pipe's end on this side: readable once the process replies (an event loop
        waits for `receive` with `add_reader` on it)."""
        return self._conn.fileno()

    def send(self, jobs: Sequence[Any]) -> None:
        """Hand `jobs` to the process as one group (answered by one `receive`)."""
        try:
            self._conn.send_bytes(marshal.dumps([self.encode(j) for j in jobs]))
        except (EOFError, OSError) as exc:
            self._lost(exc)

    def receive(self) -> tuple[list[Any], int, int]:
        """The outcome of the group last sent, as `run` returns it."""
        try:
            reply = self._conn.recv_bytes()
        except (EOFError, OSError) as exc:
            self._lost(exc)
        # marshal when every job succeeded, pickle when an outcome is an exception
        outcomes, groups, jobs_in = (marshal.loads(reply[1:]) if reply[:1] == b"m"
                                     else pickle.loads(reply[1:]))
        return ([o if isinstance(o, BaseException) else self.decode(o) for o in outcomes],
                groups, jobs_in)

    def _lost(self, exc: BaseException) -> NoReturn:
        self._discard()
        raise WriterLost("the writer process ended before it confirmed the write: "
                         "nothing of these requests was acknowledged") from exc

    def _discard(self) -> None:
        """Forget a process that ended (or kill one that no longer answers)."""
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join()
        self._conn = self._proc = None

    def close(self, timeout: float = 30.0) -> None:
        """Stop the process once it has committed what it was given."""
        if self._proc is None:
            return
        try:
            self._conn.send_bytes(_STOP)
            self._proc.join(timeout)
        except OSError:
            pass
        self._discard()


class KeptSession:
    """The writer process's one session on an SQLite file, on one connection kept for its
    life: a group's transaction costs no pool checkout, no session set-up and no reset on
    return (measured: about a tenth of the writer's CPU per prediction, at four a group).
    A group that fails takes the connection with it (rolled back, returned to the pool):
    the next group starts on a fresh one. PostgreSQL keeps the pool, whose ping on
    checkout finds a connection the server dropped before a group is written on it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Connection | None = None
        self._session: Session | None = None

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        if self._session is None:
            self._conn = self.db.engine.connect()
            self._session = Session(bind=self._conn, expire_on_commit=False)
        session = self._session
        try:
            yield session
        except BaseException:
            self.close()
            raise
        session.expunge_all()  # nothing of a committed group stays in memory

    def close(self) -> None:
        session, conn, self._session, self._conn = self._session, self._conn, None, None
        try:
            if session is not None:
                session.close()  # rolls back what was not committed
        finally:
            if conn is not None:
                conn.close()


def serve(conn: Any, url: str, store_ref: str) -> None:
    """The writer process: open the database, then commit each group it is sent until
    told to stop or the server's end of the pipe closes."""
    # The server stops it (after its last group) on shutdown: a Ctrl-C sent to the whole
    # process group must not end it with a group half-way. SIGTERM still ends it (that is
    # how multiprocessing stops a child the server did not close): a group it was writing
    # is rolled back and acknowledged to no one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        module, name = store_ref.split(":", 1)
        store: Store = getattr(importlib.import_module(module), name)
        # not connected yet: a database that cannot be reached fails each group (503),
        # as it fails the server's own statements, and the server keeps running
        db = Database(url)
        kept = KeptSession(db) if db.dialect == "sqlite" else None
    except Exception as exc:  # noqa: BLE001 - reported to the server, which refuses to start
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", ""))
    try:
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                return  # the server is gone
            if data == _STOP:
                return
            outcomes, groups, jobs = commit(db, store, marshal.loads(data), kept)
            if any(isinstance(o, BaseException) for o in outcomes):
                reply = b"p" + pickle.dumps(([picklable(o) for o in outcomes], groups, jobs),
                                            pickle.HIGHEST_PROTOCOL)
            else:
                reply = b"m" + marshal.dumps((outcomes, groups, jobs))
            conn.send_bytes(reply)
    finally:
        if kept is not None:
            kept.close()
        db.dispose()
