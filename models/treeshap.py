"""Exact TreeSHAP by table: each tree's contributions looked up, not recomputed per row.

LightGBM's `predict(pred_contrib=True)` runs the path-dependent TreeSHAP algorithm (Lundberg
et al. 2020, Algorithm 2) for every row and every tree. For a given tree, a row's
contributions depend on the row only through the direction it takes at each of the tree's
split nodes: a tree with `n` splits has at most 2**n different contribution vectors. The
churn models are ensembles of small trees (`num_leaves` 4 by default: 3 splits, 8 vectors),
so this module computes every tree's vectors once, when the model is loaded, and a row's
explanation becomes: evaluate each split, read the tree's vector, add them up. This is the
idea of Fast TreeSHAP v2 (Yang 2021), taken to its end for small trees; the values are the
same exact Shapley values of the same path-dependent expectation, equal to LightGBM's to
the last few bits of rounding (tested on trees with numerical and categorical splits and
every kind of missing value).

The splits are evaluated as LightGBM's `Tree::NumericalDecision` and
`Tree::CategoricalDecision` do (a missing value goes the default way, or is read as zero,
by the split's missing type; a categorical value is truncated to an integer, and NaN, a
negative value or a category the split does not list goes right).

One row (`row`) and a block of rows (`block`) give the same values to the last bit: both
add the trees' vectors one tree after another, in tree order, from zero (a block reading
one feature column at a time, a row reading all trees at once and summing with `cumsum`,
which adds in order where `sum` may not). So an online receipt and a batch receipt of the
same row are byte-identical whichever path computed them.

`TreeTables.build` returns None for a model it does not cover (more than `MAX_SPLITS`
splits in a tree, tables above `MAX_TABLE_BYTES`, linear trees, more than one tree per
iteration): the caller then uses LightGBM's own TreeSHAP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

MAX_SPLITS = 10  # splits in one tree: 2**10 contribution vectors
MAX_TABLE_BYTES = 64 * 2**20
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at most this is zero for missing_type Zero
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}


@dataclass(frozen=True)
class _Split:
    feature: int
    categorical: bool
    threshold: float  # numerical splits
    categories: frozenset[int]  # categorical splits: the categories that go left
    default_left: bool
    missing: int  # _MISSING


@dataclass(frozen=True)
class _Leaf:
    index: int  # LightGBM's leaf index
    value: float
    count: int  # training rows that reached it
    # the path from the root: (split position in the tree, feature, goes left, the share
    # of the split's training rows that took this way)
    path: tuple[tuple[int, int, bool, float], ...]


def _walk(structure: dict[str, Any]) -> tuple[list[dict[str, Any]], list[_Leaf]]:
    """A dumped tree's splits (depth first) and leaves (with their paths)."""
    splits: list[dict[str, Any]] = []
    leaves: list[_Leaf] = []
    stack: list[tuple[dict[str, Any], tuple]] = [(structure, ())]
    while stack:
        node, path = stack.pop()
        if "split_index" not in node:
            leaves.append(_Leaf(int(node.get("leaf_index", 0)), float(node["leaf_value"]),
                                int(node.get("leaf_count", 0)), path))
            continue
        k = len(splits)
        splits.append(node)
        count = node["internal_count"]
        for left, child in ((False, node["right_child"]), (True, node["left_child"])):
            share = child.get("internal_count", child.get("leaf_count", 0)) / count
            stack.append((child, (*path, (k, node["split_feature"], left, share))))
    return splits, leaves


def _split(node: dict[str, Any]) -> _Split | None:
    decision = node.get("decision_type")
    missing = _MISSING.get(str(node.get("missing_type", "None")))
    if missing is None:
        return None
    if decision == "==":
        cats = frozenset(int(c) for c in str(node["threshold"]).split("||"))
        return _Split(int(node["split_feature"]), True, math.nan, cats,
                      bool(node.get("default_left", False)), missing)
    if decision == "<=":
        return _Split(int(node["split_feature"]), False, float(node["threshold"]),
                      frozenset(), bool(node.get("default_left", False)), missing)
    return None


def _expected(leaves: list[_Leaf], root: int) -> float:
    """The tree's expected output over its training rows, as LightGBM's `ExpectedValue`
    adds it (by leaf index)."""
    out = 0.0
    for leaf in sorted(leaves, key=lambda leaf: leaf.index):
        out += (leaf.count / root) * leaf.value
    return out


def _leaf_table(leaf: _Leaf, patterns: np.ndarray, width: int) -> np.ndarray:
    """The leaf's part of the tree's contributions for every pattern of split directions
    (`patterns`: 2**n rows of n booleans, True = left): for each feature j on the path,

        value * (o_j - z_j) * sum over S in U minus j of |S|! (m-|S|-1)! / m!
                                      * prod_{k in S} o_k * prod_{k not in S, k != j} z_k

    where U are the m distinct features on the path, o_j whether the row follows the path
    at every split on j, and z_j the product of the shares of training rows that did
    (the path-dependent TreeSHAP of one leaf, as Algorithm 2 sums it)."""
    follows: dict[int, np.ndarray] = {}
    shares: dict[int, float] = {}
    for k, feature, left, share in leaf.path:
        step = patterns[:, k] == left
        follows[feature] = step if feature not in follows else follows[feature] & step
        shares[feature] = shares.get(feature, 1.0) * share
    features = list(follows)
    m = len(features)
    weights = [math.factorial(s) * math.factorial(m - 1 - s) / math.factorial(m)
               for s in range(m)]
    out = np.zeros((len(patterns), width))
    for j in features:
        # coefficients of prod_{k != j} (z_k + o_k t): coefs[:, s] sums over |S| = s
        coefs = np.zeros((len(patterns), m))
        coefs[:, 0] = 1.0
        for k in features:
            if k == j:
                continue
            o = follows[k].astype(np.float64)
            shifted = np.zeros_like(coefs)
            shifted[:, 1:] = coefs[:, :-1] * o[:, None]
            coefs = coefs * shares[k] + shifted
        total = coefs @ np.asarray(weights)
        out[:, j] += leaf.value * (follows[j].astype(np.float64) - shares[j]) * total
    return out


class TreeTables:
    """Every tree's contribution vectors, by the directions a row takes at its splits."""

    def __init__(self, num_features: int, splits: list[list[_Split]],
                 tables: list[np.ndarray], base: float) -> None:
        self.width = num_features + 1
        self.base = base
        self.splits = splits
        self.tables = tables  # per tree: (2**n, features + 1), base column zero
        self._compile()

    # -- building -------------------------------------------------------------------
    @classmethod
    def build(cls, booster: lgb.Booster) -> TreeTables | None:
        """The tables of `booster`'s trees (those `predict` uses by default: up to the
        best iteration when training stopped early), or None when this module does not
        cover the model (see the module docstring)."""
        dump = booster.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("linear_tree"):
            return None
        width = booster.num_feature() + 1
        splits_of: list[list[_Split]] = []
        tables: list[np.ndarray] = []
        base = 0.0
        size = 0
        for info in dump["tree_info"]:
            structure = info["tree_structure"]
            if "split_index" not in structure:  # a tree of one leaf: only the base moves
                base += float(structure["leaf_value"])
                continue
            nodes, leaves = _walk(structure)
            splits = [_split(node) for node in nodes]
            n = len(splits)
            size += (2**n) * width * 8
            if n > MAX_SPLITS or size > MAX_TABLE_BYTES or any(s is None for s in splits):
                return None
            patterns = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
            table = np.zeros((2**n, width))
            for leaf in leaves:
                table += _leaf_table(leaf, patterns, width)
            base += _expected(leaves, structure["internal_count"])
            splits_of.append(splits)  # type: ignore[arg-type]
            tables.append(table)
        return cls(booster.num_feature(), splits_of, tables, base)

    def _compile(self) -> None:
        """The flat arrays a row is explained with, and each tree's steps for blocks."""
        feature, threshold, missing, default_left, weight, tree_of = [], [], [], [], [], []
        cat_rows: list[int] = []  # positions of categorical splits in the flat arrays
        cat_offset: list[int] = []
        cat_size: list[int] = []
        lut: list[np.ndarray] = []
        offsets = [0]
        position = 0
        lut_at = 0
        for t, splits in enumerate(self.splits):
            for k, s in enumerate(splits):
                feature.append(s.feature)
                threshold.append(s.threshold)
                missing.append(s.missing)
                default_left.append(s.default_left)
                weight.append(1 << k)
                tree_of.append(t)
                if s.categorical:
                    table = _goes_left(s)
                    size = len(table) - 1
                    cat_rows.append(position)
                    cat_offset.append(lut_at)
                    cat_size.append(size)
                    lut.append(table)
                    lut_at += size + 1
                position += 1
            offsets.append(offsets[-1] + len(self.tables[t]))
        self._feature = np.asarray(feature, dtype=np.intp)
        self._threshold = np.asarray(threshold, dtype=np.float64)
        self._weight = np.asarray(weight, dtype=np.intp)
        missing_a = np.asarray(missing)
        self._default_left = np.asarray(default_left, dtype=bool)
        self._nan_default = missing_a == _MISSING["NaN"]
        self._zero_default = missing_a == _MISSING["Zero"]
        self._numerical = np.ones(len(feature), dtype=bool)
        self._cat_rows = np.asarray(cat_rows, dtype=np.intp)
        self._numerical[self._cat_rows] = False
        self._cat_offset = np.asarray(cat_offset, dtype=np.intp)
        self._cat_size = np.asarray(cat_size, dtype=np.intp)
        self._lut = np.concatenate(lut) if lut else np.zeros(0, dtype=bool)
        self._tree_start = np.asarray([0, *np.cumsum([len(s) for s in self.splits])[:-1]],
                                      dtype=np.intp)
        self._table_offset = np.asarray(offsets[:-1], dtype=np.intp)
        self._flat = (np.concatenate(self.tables) if self.tables
                      else np.zeros((0, self.width)))
        self._zero_features = np.asarray(sorted({s.feature for splits in self.splits
                                                 for s in splits
                                                 if s.missing == _MISSING["Zero"]}),
                                         dtype=np.intp)
        self._reduce_in_order = _in_order(len(self.splits), self.width)
        # blocks: per tree, its splits and its table's non-zero columns
        self._programs = []
        for splits, table in zip(self.splits, self.tables, strict=True):
            columns = [j for j in range(self.width - 1) if np.any(table[:, j])]
            steps = []
            for s in splits:
                if s.categorical:
                    steps.append((s, _goes_left(s).astype(np.intp)))
                else:
                    steps.append((s, None))
            self._programs.append((steps, [(j, np.ascontiguousarray(table[:, j]))
                                           for j in columns]))

    # -- explaining -------------------------------------------------------------------
    def row(self, x: np.ndarray) -> np.ndarray:
        """One encoded row -> (1, features + 1): contributions, then the base value."""
        out = np.zeros((1, self.width))
        out[0, -1] = self.base
        if not len(self._feature):
            return out
        values = x[self._feature]
        if np.isnan(x).any() or (len(self._zero_features)
                                 and (np.abs(x[self._zero_features]) <= _ZERO).any()):
            nan = np.isnan(values)
            # numerical splits: NaN is zero unless the split's missing type is NaN
            read = np.where(nan & ~self._nan_default, 0.0, values)
            left = read <= self._threshold
            default = (nan & self._nan_default) | (self._zero_default
                                                   & (np.abs(read) <= _ZERO))
            left = np.where(default, self._default_left, left)
        else:  # no missing value and no zero read as missing: a comparison per split
            left = values <= self._threshold
        if len(self._cat_rows):
            cat = values[self._cat_rows]
            # NaN, negative (after truncation) or unlisted categories go right
            bad = np.isnan(cat) | (cat <= -1.0) | (cat >= self._cat_size)
            code = np.where(bad, self._cat_size, np.where(bad, 0.0, cat)).astype(np.intp)
            left[self._cat_rows] = self._lut[self._cat_offset + code]
        index = np.add.reduceat(left * self._weight, self._tree_start)
        vectors = self._flat.take(self._table_offset + index, axis=0)
        # in tree order, as `block` adds them (see `_in_order`)
        out[0, :-1] = (np.add.reduce(vectors, axis=0) if self._reduce_in_order
                       else np.cumsum(vectors, axis=0)[-1])[:-1]
        return out

    def block(self, X: np.ndarray) -> np.ndarray:
        """Encoded rows -> (rows, features + 1), each row's values those of `row`."""
        n = len(X)
        out = np.zeros((self.width, n))
        columns = np.ascontiguousarray(X.T, dtype=np.float64)
        nan = np.isnan(columns)
        has_nan = nan.any(axis=1)
        read: dict[int, np.ndarray] = {}
        codes: dict[int, np.ndarray] = {}
        for steps, table_columns in self._programs:
            index = np.zeros(n, dtype=np.intp)
            for k, (s, goes) in enumerate(steps):
                f = s.feature
                if goes is not None:
                    if f not in codes:
                        x = columns[f]
                        bad = nan[f] | (x <= -1.0) | (x >= 2.0**31)
                        codes[f] = np.where(bad, -1, np.trunc(np.where(bad, 0.0, x))
                                            ).astype(np.intp)
                    code = codes[f]
                    right = len(goes) - 1
                    index |= goes[np.where((code < 0) | (code > right), right, code)] << k
                    continue
                as_nan = s.missing == _MISSING["NaN"]
                x = columns[f]
                if has_nan[f] and not as_nan:
                    if f not in read:
                        read[f] = np.where(nan[f], 0.0, x)
                    x = read[f]
                left = x <= s.threshold
                if has_nan[f] and as_nan:
                    left[nan[f]] = s.default_left
                elif s.missing == _MISSING["Zero"]:
                    zero = np.abs(x) <= _ZERO
                    if zero.any():
                        left[zero] = s.default_left
                index |= left.astype(np.intp) << k
            for j, column in table_columns:
                out[j] += column[index]
        out[-1] = self.base
        return np.ascontiguousarray(out.T)


def _goes_left(split: _Split) -> np.ndarray:
    """A categorical split's lookup: category -> goes left, one entry past the largest
    listed category for every other value (goes right)."""
    table = np.zeros(max(split.categories) + 2, dtype=bool)
    table[sorted(split.categories)] = True
    return table


def _in_order(trees: int, width: int) -> bool:
    """Whether numpy's `add.reduce` over the first axis of a (trees, width) array adds the
    rows one after another, as a block does (checked on values where any other order
    rounds differently; numpy may sum pairwise instead, as it does for one column). If
    not, a row sums with `cumsum`, which adds in order by definition but costs more."""
    if trees < 2:
        return True
    rng = np.random.default_rng(0)
    values = rng.normal(size=(trees, width)) * 10.0 ** rng.integers(-8, 8, size=(trees, 1))
    total = np.zeros(width)
    for row in values:
        total += row
    return np.add.reduce(values, axis=0).tobytes() == total.tobytes()
