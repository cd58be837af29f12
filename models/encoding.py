"""Turning customer records into the model's numeric matrix, and refusing bad ones.

The same encoding serves training, online scoring and batch scoring, so a
category always gets the same code and a bad value is named the same way.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from models.spec import FeatureSpec, ModelSpec

# Up to this many rows, categories are looked up in Python rather than through pandas.
_SMALL_FRAME = 64


@dataclass(frozen=True)
class FieldProblem:
    """One bad input field: which, what was expected, what came, how to fix it."""

    field: str
    problem: str
    expected: str
    got: str
    fix: str

    def message(self) -> str:
        return (
            f"{self.field}: {self.problem}; expected {self.expected}, got {self.got}. {self.fix}"
        )

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class InvalidFeatures(ValueError):
    """Raised when records do not fit the model's inputs; carries every problem found."""

    def __init__(self, problems: list[FieldProblem], row: int | None = None):
        self.problems = problems
        self.row = row
        where = f"record {row}: " if row is not None else ""
        super().__init__(where + "; ".join(p.message() for p in problems))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class Encoder:
    """Encodes records in the column order of a `ModelSpec`.

    Numeric features pass through as float (NaN when missing), categorical ones
    become their training category index, ordinal ones their rank.
    """

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.features: list[FeatureSpec] = list(spec.features)
        self.names = [f.name for f in self.features]
        self._codes: list[dict[str, float] | None] = [
            None if f.kind == "numeric" else {c: float(i) for i, c in enumerate(f.categories)}
            for f in self.features
        ]
        self.categorical_indices = [
            i for i, f in enumerate(self.features) if f.kind == "categorical"
        ]
        self._known = frozenset(self.names)
        self._pairs = list(zip(self.names, self._codes, strict=True))
        # per feature, what a value certainly fine needs: (name, category codes or None,
        # the numeric domain, whole numbers only, nullable); anything else goes through
        # `_value_problem`, which names what is wrong
        self._accepts = [(f.name, codes, f.valid_range() if codes is None else None,
                          f.integer, f.nullable)
                         for f, codes in zip(self.features, self._codes, strict=True)]

    # -- validation -----------------------------------------------------------------
    def problems(self, record: dict[str, Any]) -> list[FieldProblem]:
        """Every reason `record` cannot be scored as it is (empty when it can)."""
        out: list[FieldProblem] = []
        known = self._known
        for key in record:
            if key not in known:
                out.append(
                    FieldProblem(
                        field=key,
                        problem="unknown feature",
                        expected=f"one of {', '.join(self.names)}",
                        got=f"field {key!r}",
                        fix="Remove it or check its spelling; the model only uses the listed "
                        "features (GET /v1/model lists them).",
                    )
                )
        for f, (name, codes, bounds, integer, nullable) in zip(self.features, self._accepts,
                                                              strict=True):
            value = record.get(name, _ABSENT)
            if _fine(value, codes, bounds, integer, nullable):
                continue
            problem = _value_problem(f, codes, record)
            if problem is not None:
                out.append(problem)
        return out

    def check(self, record: dict[str, Any], row: int | None = None) -> None:
        """Raise `InvalidFeatures` naming every problem of `record`."""
        found = self.problems(record)
        if found:
            raise InvalidFeatures(found, row=row)

    # -- encoding --------------------------------------------------------------------
    def encode_records(self, records: list[dict[str, Any]], validate: bool = True) -> np.ndarray:
        """Encode dict records (the online path: no pandas, one pass)."""
        rows = []
        for r, record in enumerate(records):
            if validate:
                self.check(record, row=r if len(records) > 1 else None)
            row = []
            for name, codes in self._pairs:
                value = record.get(name)
                if _is_missing(value):
                    row.append(np.nan)
                elif codes is None:
                    row.append(float(value))
                else:
                    row.append(codes.get(str(value), np.nan))
            rows.append(row)
        # one array from Python floats: cheaper than setting its cells one by one
        return np.array(rows, dtype=np.float64).reshape(len(records), len(self.features))

    def invalid_rows(self, frame: pd.DataFrame, X: np.ndarray) -> tuple[np.ndarray, Counter]:
        """Rows of `frame` (encoded as `X` by `encode_frame`) that the model must not score,
        as a boolean mask, and a count per (feature, problem): a number outside the
        feature's domain, not finite or not whole when it must be, text that is not a
        number, a category training never saw. A missing value is not a problem."""
        bad = np.zeros(len(X), dtype=bool)
        counts: Counter = Counter()
        for j, f in enumerate(self.features):
            col = X[:, j]
            given = frame[f.name].notna().to_numpy()
            if f.kind == "numeric":
                lo, hi = f.valid_range()
                with np.errstate(invalid="ignore"):
                    checks = [("not a number", given & np.isnan(col)),
                              ("not a finite number", np.isinf(col)),
                              ("out of range", np.isfinite(col) & ((col < lo) | (col > hi)))]
                    if f.integer:
                        checks.append(("not a whole number",
                                       np.isfinite(col) & (col != np.round(col))))
            else:
                checks = [("unseen category", given & np.isnan(col))]
            for problem, mask in checks:
                n = int(mask.sum())
                if n:
                    counts[(f.name, problem)] += n
                    bad |= mask
        return bad, counts

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with each categorical feature's values as training read them
        (`category_text`): a file's reader may have read a category as a number or a
        boolean (a Parquet column of integer codes, a CSV's True/False), which would match
        none of the model's categories. Numeric features are left as they are (they are
        coerced when encoded). A new frame when something changes, else `frame` itself."""
        changed = {f.name: category_text(frame[f.name]) for f in self.features
                   if f.kind != "numeric" and f.name in frame.columns}
        return frame.assign(**changed) if changed else frame

    def encode_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode a DataFrame (the batch and training path).

        Text that looks numeric is coerced, unknown categories become missing: batch
        data is validated upstream by the dataset schema, not row by row here.
        """
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise InvalidFeatures(
                [
                    FieldProblem(
                        field=n,
                        problem="missing column",
                        expected="a column named " + repr(n),
                        got="no such column",
                        fix="Add the column or train a model without it.",
                    )
                    for n in missing
                ]
            )
        X = np.empty((len(frame), len(self.features)), dtype=np.float64)
        small = len(frame) <= _SMALL_FRAME
        for j, (f, codes) in enumerate(zip(self.features, self._codes, strict=True)):
            col = frame[f.name]
            if codes is None:
                if not is_numeric_dtype(col.dtype):
                    col = pd.to_numeric(col, errors="coerce")
                X[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
            elif small:
                # a few rows (one request): pandas' per-call cost would dominate
                X[:, j] = [codes.get(v, np.nan) if isinstance(v, str) else np.nan
                           for v in col.tolist()]
            else:
                # the category's index in the spec; -1 (unknown or missing) becomes NaN
                idx = pd.Categorical(col, categories=f.categories).codes
                X[:, j] = np.where(idx < 0, np.nan, idx)
        return X


def category_text(series: pd.Series) -> pd.Series:
    """A categorical column as training reads it and the model's categories are spelt:
    each value as text without surrounding spaces (1 -> "1", True -> "True"), missing
    and blank values missing. Training (`training.data`) and batch scoring both read
    categories through this, whatever type a file's reader gave the column."""
    if series.dtype == "str":
        text = series.str.strip()  # already pandas' text with NaN for missing: half the work
        return text.where(text != "")
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    return text.astype("str").where(text.notna())


_ABSENT = object()
_EXACT = 2 ** 53  # integers up to this are floats exactly


def _fine(value: Any, codes: dict[str, float] | None, bounds: tuple[float, float] | None,
          integer: bool, nullable: bool) -> bool:
    """Whether a feature's value is certainly scorable (the common case, decided without
    building a problem); False may still be fine: `_value_problem` has the last word."""
    if value is None:
        return nullable
    kind = type(value)
    if codes is not None:
        return kind is str and value in codes
    if kind is float or (kind is int and -_EXACT <= value <= _EXACT):
        number = float(value)
        assert bounds is not None
        return (math.isfinite(number) and bounds[0] <= number <= bounds[1]
                and (not integer or number.is_integer()))
    return False


def _expected(f: FeatureSpec) -> str:
    if f.kind == "numeric":
        lo, hi = f.valid_range()
        return f"{'a whole number' if f.integer else 'a number'} from {lo:g} to {hi:g}"
    return f"one of {f.categories}"


def _value_problem(f: FeatureSpec, codes: dict[str, float] | None,
                   record: dict[str, Any]) -> FieldProblem | None:
    """Why `record`'s value of feature `f` cannot be scored (the first reason), or None
    when it can; `codes` are the feature's category codes (None for a number)."""
    if f.name not in record:
        return FieldProblem(field=f.name, problem="missing required feature",
                            expected=_expected(f), got="nothing",
                            fix=f"Add {f.name!r} to the features"
                            + (" (null is accepted when the value is unknown)."
                               if f.nullable else "."))
    value = record[f.name]
    if isinstance(value, float) and math.isnan(value):
        # NaN (which Python's JSON parser reads) is not how a record says "unknown"
        return FieldProblem(field=f.name, problem="not a finite number",
                            expected=_expected(f), got="NaN",
                            fix="Send null when the value is unknown.")
    if _is_missing(value):
        return None if f.nullable else FieldProblem(
            field=f.name, problem="value may not be empty", expected=_expected(f),
            got="null", fix="Give a value: training never saw this feature missing.")
    if f.kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return FieldProblem(field=f.name, problem="wrong type", expected="a number",
                                got=f"{type(value).__name__} {_show(value)}",
                                fix="Send a JSON number, not text.")
        return _domain_problem(f, value)
    if not isinstance(value, str):
        return FieldProblem(field=f.name, problem="wrong type",
                            expected=f"a text, one of {f.categories}",
                            got=f"{type(value).__name__} {_show(value)}",
                            fix="Send the category as a JSON string.")
    if codes is not None and value not in codes:
        return FieldProblem(field=f.name, problem="unseen category",
                            expected=f"one of {f.categories}", got=_show(value),
                            fix="Use one of the categories the model was trained on "
                                "(spelling and case matter).")
    return None


def _domain_problem(f: FeatureSpec, value: int | float) -> FieldProblem | None:
    """Why a number is outside the feature's input domain, or None when it is inside."""
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        number = math.inf if value > 0 else -math.inf
    if not math.isfinite(number):
        return FieldProblem(field=f.name, problem="not a finite number",
                            expected="a finite number", got=_show(value),
                            fix="Send a finite number, or null when unknown.")
    lo, hi = f.valid_range()
    if not lo <= number <= hi:
        return FieldProblem(
            field=f.name, problem="out of range", expected=_expected(f), got=_show(value),
            fix=f"Check the value: the model accepts {f.name} from {lo:g} to {hi:g} "
            f"(training saw {f.min:g} to {f.max:g})." if f.min is not None and f.max is not None
            else f"Check the value: the model accepts {f.name} from {lo:g} to {hi:g}.")
    if f.integer and not number.is_integer():
        return FieldProblem(field=f.name, problem="not a whole number",
                            expected=_expected(f), got=_show(value),
                            fix=f"Send {f.name} as a whole number.")
    return None
