"""A preparation for the batch's child process that puts one chunk far larger than a
pipe's buffer, then waits (imported by that child: tests/serving/test_batchproc.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

CHUNK_BYTES = 8 * 1024 * 1024


class OneHugeChunk:
    treeshap_rows = 0

    def __iter__(self) -> Iterator[bytes]:
        yield b"x" * CHUNK_BYTES
        time.sleep(600)  # killed long before
