"""The batch memo: each distinct row through TreeSHAP once, results bit for bit the same."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from serving.batch import ramp_up
from serving.memo import PhiMemo


class CountingModel:
    """The served model, counting the rows TreeSHAP is asked for."""

    def __init__(self, model) -> None:  # noqa: ANN001
        self.model = model
        self.rows = 0

    def phi(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        self.rows += len(X)
        return self.model.phi(X, num_threads)


@pytest.fixture(scope="module")
def encoded(host) -> np.ndarray:  # noqa: ANN001
    from training.synthetic import generate

    model = host.current().model
    X = model.encoder.encode_frame(generate(1500, seed=8)[model.feature_names])
    X[::97, 0] = np.nan  # missing values repeat too
    # customers who share their values with others, in any order
    rows = np.random.default_rng(3).integers(0, len(X), 3000)
    return np.ascontiguousarray(X[rows])


def test_memo_gives_exactly_what_every_row_gives(host, encoded):
    model = host.current().model
    counting = CountingModel(model)
    memo = PhiMemo(counting, max_rows=100_000)
    pieces = [memo.phi(encoded[i:i + 700]) for i in range(0, len(encoded), 700)]
    got = np.concatenate(pieces)
    expected = model.phi(encoded)
    assert got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()
    a, b = model.explanation(encoded, expected), model.explanation(encoded, got)
    for field in ("margin", "score", "shap"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes()
    distinct = len(np.unique(encoded.view(np.dtype((np.void, encoded.shape[1] * 8)))))
    assert distinct < 0.6 * len(encoded)
    assert counting.rows == memo.computed == distinct
    # rows seen before cost nothing
    memo.phi(encoded[:500])
    assert counting.rows == distinct


def test_a_full_memo_starts_afresh_and_stays_exact(host, encoded):
    model = host.current().model
    memo = PhiMemo(model, max_rows=50)
    for i in range(0, 600, 40):
        block = encoded[i:i + 40]
        assert memo.phi(block).tobytes() == model.phi(block).tobytes()
        assert len(memo._rows) <= 50
    assert memo.phi(encoded[:0]).shape == (0, encoded.shape[1] + 1)
    with pytest.raises(ValueError, match="at least 1"):
        PhiMemo(model, max_rows=0)


def test_memo_is_exact_from_several_threads(host, encoded):
    model = host.current().model
    memo = PhiMemo(model, max_rows=400)
    expected = model.phi(encoded)
    errors = []

    def work(offset: int) -> None:
        for i in range(offset, len(encoded), 300):
            if memo.phi(encoded[i:i + 300]).tobytes() != expected[i:i + 300].tobytes():
                errors.append(i)

    threads = [threading.Thread(target=work, args=(k * 100,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("rows", [0, 1, 7, 8, 20_001])
def test_ramp_up_cuts_only_the_first_frame_and_keeps_every_row(rows):
    first = pd.DataFrame({"n": range(rows)})
    later = [pd.DataFrame({"n": range(rows, rows + 5)})]
    pieces = list(ramp_up(iter([first, *later])))
    assert pd.concat(pieces)["n"].tolist() == list(range(rows + 5))
    assert all(len(p) for p in pieces)
    if rows >= 8:
        assert [len(p) for p in pieces[:4]] == [rows // 8, rows // 4 - rows // 8,
                                                rows // 2 - rows // 4, rows - rows // 2]
    assert list(ramp_up(iter([]))) == []
