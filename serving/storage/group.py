"""Group commit: concurrent writers share one transaction, so one fsync acknowledges many.

Every scored request must be durable before it is answered (SQLite `synchronous=FULL`,
PostgreSQL's default `synchronous_commit`). Committing each request on its own makes the
disk flush the limit. Here a caller queues its job and then competes for the leader lock;
the leader takes every job queued so far (up to a row budget), stores them all in one
transaction, commits once and hands each caller its own outcome. Callers that queued while
a leader was committing find their job done when they get the lock, or lead the next group.

No thread is started and nothing is left behind: the callers themselves do the work. A
job that fails the whole group is retried alone, so one bad job cannot fail the others;
nothing is acknowledged before its transaction committed.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from serving.storage.db import Database, write_lock

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


class GroupCommit(Generic[J, R]):
    """Run `store` for queued jobs in shared transactions (see the module docstring).

    `max_rows` bounds one group (each job says how many rows it carries), which bounds a
    transaction's size and the statement parameters it needs."""

    def __init__(self, db: Database, store: Store, max_rows: int = 2000) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self.db = db
        self.store = store
        self.max_rows = max_rows
        self._pending: deque[_Slot[J]] = deque()
        self._leader = threading.Lock()
        self.groups = 0  # transactions committed (for metrics and tests)
        self.jobs = 0

    def submit(self, job: J, rows: int = 1) -> R:
        """Store `job` durably and return its result (or raise its error)."""
        slot = _Slot(job, rows)
        self._pending.append(slot)
        while True:
            with self._leader:
                if slot.done:
                    break
                self._lead()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _lead(self) -> None:
        """Take the queued jobs (FIFO, within the row budget) and store them as a group."""
        group: list[_Slot[J]] = []
        rows = 0
        while self._pending:
            nxt = self._pending[0]
            if group and rows + nxt.rows > self.max_rows:
                break
            group.append(self._pending.popleft())
            rows += nxt.rows
        if group:
            self._run(group)

    def _run(self, group: list[_Slot[J]]) -> None:
        try:
            with self.db.session() as session, write_lock(session):
                outcomes = self.store(session, [s.job for s in group])
                if len(outcomes) != len(group):
                    raise RuntimeError(f"store returned {len(outcomes)} outcomes for "
                                       f"{len(group)} jobs")
                session.commit()
        except Exception as exc:
            if len(group) == 1:
                group[0].error, group[0].done = exc, True
                return
            for slot in group:  # find the job at fault: each alone
                self._run([slot])
            return
        self.groups += 1
        self.jobs += len(group)
        for slot, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                slot.error = outcome
            else:
                slot.result = outcome
            slot.done = True
