"""TreeSHAP by table (`models.treeshap`): LightGBM's values on every kind of split."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from models import treeshap
from models.treeshap import TreeTables


def _booster(seed: int) -> tuple[lgb.Booster, list[int], np.random.Generator]:
    """A small random binary model: numerical and categorical splits, missing values
    of each kind (NaN, zero as missing, none), leaves from 2 to 11."""
    rng = np.random.default_rng(seed)
    n, f = 2500, int(rng.integers(2, 7))
    X = rng.normal(size=(n, f))
    cats = [j for j in range(f) if rng.random() < 0.4]
    for j in cats:
        X[:, j] = rng.integers(0, int(rng.integers(2, 40)), n)
    zeros = rng.random() < 0.4
    if rng.random() < 0.5:
        X[rng.random((n, f)) < 0.1] = np.nan
    if zeros:
        X[rng.random((n, f)) < 0.2] = 0.0
    y = (np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1 % f])
         + rng.normal(size=n) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "learning_rate": 0.1,
              "num_leaves": int(rng.integers(2, 12)),
              "min_data_in_leaf": int(rng.integers(1, 30)),
              "zero_as_missing": bool(zeros and rng.random() < 0.5),
              "use_missing": bool(rng.random() < 0.8),
              "max_cat_to_onehot": int(rng.integers(1, 8)), "min_data_per_group": 5,
              "cat_smooth": 1.0}
    booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=cats or "auto"),
                        num_boost_round=int(rng.integers(5, 60)))
    return booster, cats, rng


def _awkward_rows(rng: np.random.Generator, width: int, cats: list[int]) -> np.ndarray:
    """Rows that reach every branch of LightGBM's decisions: NaN, zero, negative zero,
    values below its zero threshold, and categories that are negative, fractional,
    unseen or far out of range."""
    Z = rng.normal(size=(1500, width)) * 3
    for j in cats:
        Z[:, j] = rng.integers(-3, 45, 1500) + (rng.random(1500) < 0.1) * rng.random(1500)
        Z[rng.random(1500) < 0.02, j] = 1e12
    Z[rng.random(Z.shape) < 0.1] = np.nan
    Z[rng.random(Z.shape) < 0.1] = 0.0
    Z[rng.random(Z.shape) < 0.05] = -0.0
    Z[rng.random(Z.shape) < 0.05] = 1e-40
    return Z


@pytest.mark.parametrize("seed", range(24))
def test_tables_give_lightgbms_treeshap(seed):
    booster, cats, rng = _booster(seed)
    tables = TreeTables.build(booster)
    assert tables is not None
    Z = _awkward_rows(rng, booster.num_feature(), cats)
    expected = booster.predict(Z, pred_contrib=True)
    got = tables.block(Z)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13 * scale)
    assert np.array_equal(got[:, -1], expected[:, -1])  # the base value, exactly
    # the contributions add up to LightGBM's own raw score
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(Z, raw_score=True),
                               rtol=0, atol=1e-12 * scale)
    # one row at a time: the block's values to the last bit
    rows = np.vstack([tables.row(z) for z in Z[:200]])
    assert rows.tobytes() == got[:200].tobytes()


def test_a_block_is_its_rows_whatever_its_size():
    booster, cats, rng = _booster(101)
    tables = TreeTables.build(booster)
    Z = _awkward_rows(rng, booster.num_feature(), cats)
    whole = tables.block(Z)
    pieces = np.vstack([tables.block(Z[i:i + 97]) for i in range(0, len(Z), 97)])
    assert pieces.tobytes() == whole.tobytes()
    assert tables.block(Z[:0]).shape == (0, booster.num_feature() + 1)


def test_models_beyond_reach_are_left_to_lightgbm(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 4))
    y = (X[:, 0] + rng.normal(size=2000) > 0).astype(int)
    big = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 31,
                     "min_data_in_leaf": 5}, lgb.Dataset(X, y), 5)
    assert TreeTables.build(big) is None  # more than MAX_SPLITS splits in a tree
    small = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4},
                      lgb.Dataset(X, y), 50)
    assert TreeTables.build(small) is not None
    monkeypatch.setattr(treeshap, "MAX_TABLE_BYTES", 1000)
    assert TreeTables.build(small) is None  # tables too large in all
    multi = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1,
                       "num_leaves": 4}, lgb.Dataset(X, rng.integers(0, 3, 2000)), 5)
    monkeypatch.undo()
    assert TreeTables.build(multi) is None  # several trees per iteration


def test_early_stopping_explains_up_to_the_best_iteration():
    """`predict` uses the best iteration when training stopped early: so do the tables."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 3))
    y = (X[:, 0] + rng.normal(size=3000) > 0).astype(int)
    train, valid = lgb.Dataset(X[:2000], y[:2000]), lgb.Dataset(X[2000:], y[2000:])
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4,
                         "learning_rate": 0.5}, train, 400, valid_sets=[valid],
                        callbacks=[lgb.early_stopping(5, verbose=False)],
                        keep_training_booster=True)
    assert 0 < booster.best_iteration < booster.num_trees()
    expected = booster.predict(X[:300], pred_contrib=True)
    np.testing.assert_allclose(TreeTables.build(booster).block(X[:300]), expected,
                               rtol=0, atol=1e-12)


def test_a_sum_in_order_is_what_a_row_and_a_block_share():
    """`row` sums the trees' vectors with cumsum (in order); numpy's `sum` may pair them
    up instead, which would make a row's last bits differ from a block's."""
    rng = np.random.default_rng(2)
    A = rng.normal(size=(300, 1)) * 10.0 ** rng.integers(-8, 8, size=(300, 1))
    acc = np.zeros(1)
    for t in range(len(A)):
        acc += A[t]
    assert np.cumsum(A, axis=0)[-1].tobytes() == acc.tobytes()


def test_a_row_sums_in_order_either_way():
    """Where numpy's reduce does not add the trees' vectors in order, a row falls back to
    `cumsum`: the block's bits either way."""
    booster, cats, rng = _booster(7)
    tables = TreeTables.build(booster)
    Z = _awkward_rows(rng, booster.num_feature(), cats)[:200]
    block = tables.block(Z)
    for in_order in (True, False):
        tables._reduce_in_order = in_order
        assert np.vstack([tables.row(z) for z in Z]).tobytes() == block.tobytes()
