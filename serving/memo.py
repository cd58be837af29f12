"""Explain each distinct customer row once in a batch run.

Exact TreeSHAP of a row depends on that row's encoded values and the model alone, so
two customers with the same encoded features get the same contributions, bit for bit.
With a minimised, mostly categorical feature set many customers share their values
(a third of the rows of a 20,000-row chunk of the synthetic base repeat an earlier
one; across a million rows, 92% do), so the batch asks TreeSHAP only for rows it has
not seen yet in this run and copies the rest. The receipts are byte-identical to
explaining every row (tested); only the time changes.
"""

from __future__ import annotations

import threading

import numpy as np

from models.churn_model import ChurnModel


class PhiMemo:
    """`ChurnModel.phi` for many rows, each distinct row computed once per memo.

    Rows are keyed by their exact bytes (float64, model column order), so only truly
    identical inputs share a result. The memo keeps at most `max_rows` rows and starts
    afresh when full, so memory stays bounded however large the file is. Thread-safe:
    chunks scored side by side may both compute a new row; both get the same values."""

    def __init__(self, model: ChurnModel, max_rows: int) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self.model = model
        self.max_rows = max_rows
        self._rows: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self.computed = 0  # rows TreeSHAP was asked for

    def phi(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """The same array `self.model.phi(X)` returns, computing only unseen rows."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        n, k = X.shape
        if n == 0:
            return self.model.phi(X, num_threads)
        width = k * 8
        keys = X.view(np.dtype((np.void, width))).ravel()
        distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        blob = distinct.tobytes()
        names = [blob[i:i + width] for i in range(0, len(blob), width)]
        with self._lock:
            known = [self._rows.get(name) for name in names]
        todo = [i for i, value in enumerate(known) if value is None]
        if todo:
            fresh = self.model.phi(X[first[todo]], num_threads)
            out = fresh.tobytes()
            step = fresh.shape[1] * 8
            with self._lock:
                self.computed += len(todo)
                if len(self._rows) + len(todo) > self.max_rows:
                    self._rows.clear()
                for j, i in enumerate(todo):
                    value = out[j * step:(j + 1) * step]
                    known[i] = value
                    if len(self._rows) < self.max_rows:
                        self._rows[names[i]] = value
        table = np.frombuffer(b"".join(known), dtype=np.float64).reshape(len(names), -1)
        return table[inverse.reshape(-1)]
