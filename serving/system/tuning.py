"""Process settings for the long-running API server (`python -m serving.cli serve`), each
measured on the online path under `make bench`'s load (wrk -c8, 2 shared cores): the tail
of POST /v1/predictions (its p99) came from the interpreter, not from the work.

Only the server applies them: an app built in a test or a script leaves its process as it
found it.
"""

from __future__ import annotations

import gc
import logging
import sys

SWITCH_INTERVAL = 0.0005  # seconds (CPython's default: 0.005)


def threads_switch_often() -> None:
    """Let a thread waiting for the GIL have it within half a millisecond.

    The group-commit writer thread (`serving.storage.group`) takes the GIL back after each
    SQLite statement (the driver lets go of it around every call), and while the event loop
    is computing CPython makes it wait up to its switch interval, 5 ms, each time: a group
    of ten-odd statements then took 40-75 ms instead of 2-3 (measured), and every request
    in it waited as long."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)


def freeze_heap() -> None:
    """Put every object alive after start-up (the model, MLflow, pandas, SQLAlchemy: about
    395,000) out of the cyclic garbage collector's reach, after one last collection.

    A full collection walks all of them: it stopped the server for 250-450 ms (measured),
    several times a minute under load. Objects made later are collected as before; what
    start-up leaves behind lives as long as the process anyway."""
    gc.collect()
    gc.freeze()


def lean_log_records() -> None:
    """Leave out of every log record what no handler of the server prints: the thread,
    process and multiprocessing names, and the caller's file and line (found by walking
    the stack). The server logs one record per request (`serving.system.middleware`: the
    access line) and formats only the message; measured in-process, each record cost
    about 28 % less (the logging HOWTO's "Optimization" settings)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # noqa: SLF001 - the documented switch for the caller lookup
