"""A store for the writer-process tests (imported by the writer process itself)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from serving.storage.tables import Customer


class Refused(Exception):
    pass


def store(session, jobs):  # noqa: ANN001, ANN201
    """One customer per job; "refuse-*" refused, "die" ends the writer process."""
    outcomes = []
    for job in jobs:
        if job == "die":
            os._exit(3)  # the process dies mid-group, before any commit
        if job.startswith("refuse"):
            outcomes.append(Refused(job))
            continue
        session.add(Customer(customer_ref=job, created_at=datetime.now(UTC)))
        session.flush()
        outcomes.append(f"stored {job} in {os.getpid()}")
    return outcomes
