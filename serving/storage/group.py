"""Group commit: concurrent writers share one transaction, so one fsync acknowledges many.

Every scored request must be durable before it is answered (SQLite `synchronous=FULL`,
PostgreSQL's default `synchronous_commit`). Committing each request on its own makes the
disk flush the limit. Here a caller queues its job and then competes for the leader lock;
the leader takes every job queued so far (up to a row budget), stores them all in one
transaction, commits once and hands each caller its own outcome. Callers that queued while
a leader was committing find their job done when they get the lock, or lead the next group.

Two ways in, one queue. A thread calls `submit`: it does the work itself, and nothing is
left behind. The event loop awaits `submit_async`. With a writer process (the server's
default, `serving.storage.writerproc`) the loop leads itself: it sends a group down the
process's pipe and is woken by the reply, with no thread in between. Otherwise its job goes
to one writer thread (started on first use, stopped by `close`) that leads the groups and
wakes the loop once per group. Either way a request costs the loop no trip through the
thread pool and no thread of its own that contends for the leader lock (measured: under
load, those wake-ups, not the CPU, bounded the online path). A job that fails the whole
group is retried alone, so one bad job cannot fail the others; nothing is acknowledged
before its transaction committed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.orm import Session

from serving.storage.db import Database, write_lock

if TYPE_CHECKING:
    from serving.storage.writerproc import WriterProcess

J = TypeVar("J")
R = TypeVar("R")

# store(session, jobs) -> one outcome per job: its result, or the exception to raise for
# it. It must write nothing for a job whose outcome is an exception.
Store = Callable[[Session, Sequence[J]], list[Any]]


@dataclass(eq=False)
class _Slot(Generic[J]):
    job: J
    rows: int
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    # submit_async: the awaiting loop and its future (resolved by whoever led the group)
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future | None = None


def _resolve(slots: list[_Slot]) -> None:
    """In the awaiting loop: hand each async slot its outcome (unless its caller left)."""
    for slot in slots:
        fut = slot.future
        if fut is None or fut.done():
            continue
        if slot.error is not None:
            fut.set_exception(slot.error)
        else:
            fut.set_result(slot.result)


class GroupCommit(Generic[J, R]):
    """Run `store` for queued jobs in shared transactions (see the module docstring).

    `max_rows` bounds one group (each job says how many rows it carries), which bounds a
    transaction's size and the statement parameters it needs. `wait` (seconds) is how
    long the writer thread of `submit_async` may wait for a group to fill (`_gather`)."""

    def __init__(self, db: Database, store: Store, max_rows: int = 2000,
                 wait: float = 0.0, process: WriterProcess | None = None) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        if not 0 <= wait <= 1:
            raise ValueError(f"wait is in seconds, between 0 and 1; got {wait}")
        self.db = db
        self.store = store
        # CHURN_WRITER=process: the groups are committed by a process of its own
        self.process = process
        self.max_rows = max_rows
        self.wait = wait  # the writer thread's longest wait for a group to fill (`_gather`)
        self._pending: deque[_Slot[J]] = deque()
        self._leader = threading.Lock()
        self.groups = 0  # transactions committed (for metrics and tests)
        self.jobs = 0
        self._recent: deque[int] = deque(maxlen=8)  # the sizes of the last groups
        # with a writer process: the group on the pipe (its loop and slots), or the timer
        # of a group filling up (`_pipe`); touched only by the loop that leads
        self._sent: tuple[asyncio.AbstractEventLoop, int, list[_Slot[J]]] | None = None
        # a second group sent behind it (`_pipe`: the process reads it once it has
        # replied to the first), answered after it
        self._behind: list[_Slot[J]] | None = None
        self._timer: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None
        # without one: the writer thread of `submit_async`, started on first use
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False

    def submit(self, job: J, rows: int = 1) -> R:
        """Store `job` durably and return its result (or raise its error)."""
        slot = _Slot(job, rows)
        self._pending.append(slot)
        while True:
            with self._leader:
                if slot.done:
                    break
                self._lead()
        if self.process is not None:
            self._kick()
        if slot.error is not None:
            raise slot.error
        return slot.result

    async def submit_async(self, job: J, rows: int = 1) -> R:
        """`submit` for the event loop: the writer thread stores `job` durably (in a group
        with whatever else is queued) and the loop resumes with its result or error."""
        if self._closed:
            raise RuntimeError("this group writer is closed: the app is shutting down")
        loop = asyncio.get_running_loop()
        slot = _Slot(job, rows, loop=loop, future=loop.create_future())
        self._pending.append(slot)
        if self.process is not None:
            self._pipe(loop)
        else:
            if self._thread is None:
                self._start_thread()
            self._wake.set()
        assert slot.future is not None
        return await slot.future

    def _start_thread(self) -> None:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="group-commit",
                                                daemon=True)
                self._thread.start()

    def _work(self) -> None:
        """The writer thread: lead a group whenever jobs are queued, until closed."""
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._pending:
                self._gather(self._expected())
                self._recent.append(len(self._pending))
                with self._leader:
                    self._lead()
            if self._closed and not self._pending:
                return

    def _gather(self, expected: int) -> None:
        """Wait up to `wait` seconds for the queue to hold `expected` jobs (the largest
        recent group) before leading: under concurrency the requests answered by one
        commit come back while the next one flushes, and would otherwise alternate
        between two half-sized groups, paying two flushes where one would do (the
        `commit_delay` of PostgreSQL, without its fixed sleep: a full queue goes at once,
        and a lone request never waits, since the groups then shrink to one)."""
        if not self.wait or len(self._pending) >= expected:
            return
        deadline = time.monotonic() + self.wait
        while len(self._pending) < expected and not self._closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(left)
            self._wake.clear()

    def _expected(self) -> int:
        return max(self._recent, default=1)

    # -- with a writer process: the event loop hands it the groups itself ----------------
    #
    # No thread in between: the loop sends a group down the pipe, is woken by the pipe
    # when the process replies (`add_reader`), settles the group's requests and sends what
    # queued meanwhile; once a group's worth has queued, it goes down the pipe behind the
    # one committing (`_send_behind`), so the process never waits for the loop to read a
    # reply before it has the next group. The leader lock is held from the first send to
    # the last reply, so a thread's
    # `submit` (a long list, scored in the thread pool) waits for the pipe, then leads on
    # it as before, and hands the loop back what queued (`_kick`). Measured under wrk,
    # the writer thread's two wake-ups per group, and its turns on the interpreter lock,
    # cost the loop more than the group's own encoding.

    def _pipe(self, loop: asyncio.AbstractEventLoop) -> None:
        """In `loop`: send the queued jobs as one group, after up to `wait` for it to
        fill; with a group on the pipe already, send them behind it once a group's worth
        has queued (`_send_behind`), else its reply sends them."""
        self._reclaim(None)
        timer = self._timer
        if timer is not None:
            if timer[0] is loop and len(self._pending) >= self._expected():
                timer[1].cancel()
                self._timer = None
                self._send(loop)
            return
        sent = self._sent
        if sent is not None:
            if sent[0] is loop and self._behind is None and not self._closed:
                self._send_behind(loop)
            return
        if not self._pending or not self._leader.acquire(blocking=False):
            return
        if self.wait and len(self._pending) < self._expected():
            self._timer = (loop, loop.call_later(self.wait, self._filled, loop))
            return
        self._send(loop)

    def _send_behind(self, loop: asyncio.AbstractEventLoop) -> None:
        """With a group on the pipe: once as many jobs queued as the recent groups held
        (two or more), send them behind it. The process starts on them as soon as it
        has replied, instead of waiting for the loop to read that reply and send the next
        (measured under wrk: the loop was busy 85 % of the time and the process 58 %,
        each waiting for the other at the hand-over); groups keep their size, and a
        lone request never waits for one."""
        expected = self._expected()
        if expected < 2 or len(self._pending) < expected:
            return
        group = self._take()
        self._recent.append(len(group))
        process = self.process
        assert process is not None
        try:
            process.send([s.job for s in group])
        except Exception as exc:  # the process is gone: nothing acknowledged
            self._answer(group, [exc] * len(group), 0, 0, loop)
            return
        self._behind = group

    def _filled(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._send(loop)

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        """Holding the leader lock: send the queued jobs to the process as one group."""
        group = self._take()
        if not group:
            self._leader.release()
            return
        self._recent.append(len(group))
        process = self.process
        assert process is not None
        if process.alive:
            self._transmit(loop, group)
            return
        # a new process takes seconds to start: not in the loop
        started = loop.run_in_executor(None, process.ensure)
        started.add_done_callback(lambda f: self._started(loop, group, f))

    def _started(self, loop: asyncio.AbstractEventLoop, group: list[_Slot[J]],
                 started: asyncio.Future) -> None:
        if started.cancelled() or started.exception() is not None:
            error = (started.exception() if not started.cancelled()
                     else RuntimeError("the writer process's start was cancelled"))
            self._settle(loop, group, [error] * len(group), 0, 0)
            return
        self._transmit(loop, group)

    def _transmit(self, loop: asyncio.AbstractEventLoop, group: list[_Slot[J]]) -> None:
        process = self.process
        assert process is not None
        try:
            process.send([s.job for s in group])
        except Exception as exc:  # the process is gone: nothing acknowledged
            self._settle(loop, group, [exc] * len(group), 0, 0)
            return
        fd = process.fileno()
        self._sent = (loop, fd, group)
        loop.add_reader(fd, self._replied)

    def _replied(self, follow: bool = True) -> None:
        """The process replied to the group on the pipe (in its loop; elsewhere, with
        `follow` false, the reply is waited for and nothing more is sent)."""
        assert self._sent is not None and self.process is not None
        loop, fd, group = self._sent
        behind, self._behind = self._behind, None
        try:
            outcomes, groups, jobs = self.process.receive()
        except Exception as exc:  # the process ended: nothing of the group acknowledged
            outcomes, groups, jobs = [exc] * len(group), 0, 0
            if behind is not None:  # sent to the same process: nor of the one behind
                self._answer(behind, [exc] * len(behind), 0, 0, loop if follow else None)
                behind = None
        if behind is not None:  # its reply comes next on the pipe: keep leading
            self._sent = (loop, fd, behind)
            self._answer(group, outcomes, groups, jobs, loop if follow else None)
            if follow:
                self._pipe(loop)
            else:
                self._replied(follow=False)
            return
        if not loop.is_closed():
            loop.remove_reader(fd)
        self._sent = None
        self._settle(loop if follow else None, group, outcomes, groups, jobs)

    def _reclaim(self, here: asyncio.AbstractEventLoop | None) -> None:
        """Let go of the pipe where its holder will not: a loop that closed (a script's
        `asyncio.run` that ended with a request still waiting), or `here`, the loop
        closing the writer. The reply of its group is read now; a group it was letting
        fill goes back to the queue. Otherwise no one would let go of the pipe."""
        timer = self._timer
        if timer is not None and (timer[0] is here or timer[0].is_closed()):
            timer[1].cancel()
            self._timer = None
            self._leader.release()
        sent = self._sent
        if sent is not None and (sent[0] is here or sent[0].is_closed()):
            self._replied(follow=False)

    def _settle(self, loop: asyncio.AbstractEventLoop | None, group: list[_Slot[J]],
                outcomes: list[Any], groups: int, jobs: int) -> None:
        """Hand the group its outcomes, let go of the pipe, send what queued meanwhile."""
        self._record(group, outcomes, groups, jobs)
        self._leader.release()
        _wake_loops(group, here=loop)
        if loop is not None and not self._closed:
            self._pipe(loop)

    def _kick(self) -> None:
        """After a thread led on the pipe: the loop whose request is next in the queue
        leads what the thread left (a thread waiting there leads its own)."""
        try:
            head = self._pending[0]
        except IndexError:
            return
        if head.loop is not None:
            try:
                head.loop.call_soon_threadsafe(self._pipe, head.loop)
            except RuntimeError:  # that loop is closed: its callers are gone
                pass

    def _drain(self, timeout: float) -> None:
        """On close, with a writer process: the group on the pipe and the queued jobs
        stored before the process stops. In the leading loop (the app's shutdown), its
        reply is read here, as the loop would no longer get to it."""
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # no loop running here
            here = None
        self._reclaim(here)
        if not self._leader.acquire(timeout=timeout):
            return
        try:
            while self._pending:
                self._lead()
        finally:
            self._leader.release()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the writer thread (or process) once the jobs queued so far are stored."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if self.process is not None:
            self._drain(timeout)
            self.process.close()

    # -- groups led by a thread ------------------------------------------------------------

    def _take(self) -> list[_Slot[J]]:
        """The queued jobs of the next group (FIFO, within the row budget)."""
        group: list[_Slot[J]] = []
        rows = 0
        while self._pending:
            nxt = self._pending[0]
            if group and rows + nxt.rows > self.max_rows:
                break
            group.append(self._pending.popleft())
            rows += nxt.rows
        return group

    def _lead(self) -> None:
        """Take the queued jobs and store them as a group."""
        group = self._take()
        if group:
            self._run(group)

    def _run(self, group: list[_Slot[J]]) -> None:
        jobs = [s.job for s in group]
        try:
            outcomes, groups, jobs_in = (self.process.run(jobs) if self.process is not None
                                         else commit(self.db, self.store, jobs))
        except Exception as exc:  # the writer process is gone: nothing acknowledged
            outcomes, groups, jobs_in = [exc] * len(group), 0, 0
        self._answer(group, outcomes, groups, jobs_in, None)

    def _answer(self, group: list[_Slot[J]], outcomes: list[Any], groups: int, jobs: int,
                here: asyncio.AbstractEventLoop | None) -> None:
        """Hand the group its outcomes and wake its callers (`here`: the loop calling)."""
        self._record(group, outcomes, groups, jobs)
        _wake_loops(group, here=here)

    def _record(self, group: list[_Slot[J]], outcomes: list[Any], groups: int,
                jobs: int) -> None:
        self.groups += groups
        self.jobs += jobs
        for slot, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                slot.error = outcome
            else:
                slot.result = outcome
            slot.done = True


def commit(db: Database, store: Store, jobs: Sequence[Any],
           sessions: Callable[[], AbstractContextManager[Session]] | None = None,
           ) -> tuple[list[Any], int, int]:
    """Store `jobs` in one transaction and commit it; if the whole group fails, each job
    alone, so one bad job cannot fail the others. Returns one outcome per job (its result,
    or the exception to raise for it), how many transactions committed and how many jobs
    they held. `sessions`: where the transaction's session comes from (`db.session`, a
    new one from the pool, unless told otherwise: the writer process keeps one).

    On SQLite the transaction takes the write lock before its first read (BEGIN
    IMMEDIATE): what `store` reads (a customer's restriction, say) cannot change before
    it commits, whichever process writes meanwhile."""
    try:
        with (sessions or db.session)() as session, write_lock(session):
            if db.dialect == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            outcomes = store(session, jobs)
            if len(outcomes) != len(jobs):
                raise RuntimeError(f"store returned {len(outcomes)} outcomes for "
                                   f"{len(jobs)} jobs")
            session.commit()
    except Exception as exc:
        if len(jobs) == 1:
            return [exc], 0, 0
        out: list[Any] = []
        groups = 0
        for job in jobs:
            (one,), n, _ = commit(db, store, [job], sessions)
            out.append(one)
            groups += n
        return out, groups, groups
    return outcomes, 1, len(jobs)


def _wake_loops(group: list[_Slot], here: asyncio.AbstractEventLoop | None = None) -> None:
    """Resolve the group's async slots: those of `here` (the loop calling) at once, any
    other loop's by one call into it per group, not one per request (each call is a
    wake-up of that loop's thread)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Slot]] = {}
    for slot in group:
        if slot.loop is not None:
            by_loop.setdefault(slot.loop, []).append(slot)
    for loop, slots in by_loop.items():
        if loop is here:
            _resolve(slots)
            continue
        try:
            loop.call_soon_threadsafe(_resolve, slots)
        except RuntimeError:  # that loop is closed: its callers are gone
            pass
