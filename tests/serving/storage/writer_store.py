"""A store for the writer-process tests (imported by the writer process itself)."""

from __future__ import annotations

import itertools
import os
import time
import weakref
from datetime import UTC, datetime

from serving.storage.tables import Customer


class Refused(Exception):
    pass


_CHECKOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_NUMBERS = itertools.count(1)


def _checkout(session) -> int:  # noqa: ANN001
    """A number for the SQLAlchemy connection the session writes on, new for each one
    taken from the pool (ids of Python objects are reused; these are not)."""
    conn = session.connection()
    if conn not in _CHECKOUTS:
        _CHECKOUTS[conn] = next(_NUMBERS)
    return _CHECKOUTS[conn]


def store(session, jobs):  # noqa: ANN001, ANN201
    """One customer per job; "refuse-*" refused, "die" ends the writer process ("slow-die"
    a tenth of a second in), "slow-*" takes a tenth of a second (a slow disk: the next
    jobs queue meanwhile), "crash-*" fails the whole transaction; each stored job's
    outcome names the process and the connection (the pool checkout) it was written on."""
    outcomes = []
    for job in jobs:
        if job == "die":
            os._exit(3)  # the process dies mid-group, before any commit
        if job == "slow-die":  # dies a tenth of a second in (the next group is on the pipe)
            time.sleep(0.1)
            os._exit(3)
        if job.startswith("crash"):
            raise RuntimeError(f"{job} broke the transaction")
        if job.startswith("slow"):
            time.sleep(0.1)
        if job.startswith("refuse"):
            outcomes.append(Refused(job))
            continue
        session.add(Customer(customer_ref=job, created_at=datetime.now(UTC)))
        session.flush()
        outcomes.append(f"stored {job} in {os.getpid()} on {_checkout(session)}")
    return outcomes
