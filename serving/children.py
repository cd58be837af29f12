"""Child processes of the service, started from one fork server.

Forking a process that runs threads (an event loop, a group-commit thread, a thread pool)
is unsafe, and starting a fresh interpreter costs seconds of imports. `multiprocessing`'s
"forkserver" starts a clean single-threaded parent once, which imports the given modules
once and forks each child from there. The online writer process
(`serving.storage.writerproc`) and the batch's preparation process
(`serving.batchproc`) both start their children this way.
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from typing import Any

_lock = threading.Lock()
_context: Any = None


def forkserver(*preload: str) -> Any:
    """The fork-server context of this process. The first call decides what the fork
    server imports before it forks anything (`preload`); later calls share that server,
    and their children import what else they need themselves."""
    global _context
    with _lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(list(preload))
            _context = ctx
        return _context


def picklable(outcome: Any) -> Any:
    """`outcome` as it can cross to the parent: an exception that cannot be pickled
    becomes a RuntimeError with its class and text (what the parent reports); anything
    else is returned as it is."""
    if isinstance(outcome, BaseException):
        try:
            pickle.loads(pickle.dumps(outcome))
        except Exception:  # noqa: BLE001 - any failure means: send its text instead
            return RuntimeError(f"{type(outcome).__name__}: {outcome}")
    return outcome
