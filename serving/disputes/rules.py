"""The rulebook of a dispute: what a customer may claim about a prediction.

`claim_errors` is applied by the disputes service to every dispute, whoever sends it
(the JSON API, the customer pages): one set of rules, each refusal a `FieldError` naming
the field, with a stable `problem` code the pages translate. What the request schema
already refuses (text with NUL, NaN/Infinity, too long) stays there (`schemas.plain`).

A claimed value must be one the model can read (a number, a known category), not empty,
not the value the prediction already used, and within the feature's input domain (the
model contract's range and whole-number rule, `FeatureSpec.valid_range`), which the
model encoder checks for every entry point alike.
"""

from __future__ import annotations

from typing import Any

from models import Encoder, ModelSpec
from serving.disputes.schemas import DisputeCreate
from serving.errors import FieldError, field_error

# problem codes (besides the model encoder's: "unknown feature", "unseen category",
# "wrong type", "not a finite number", "not a whole number")
EMPTY = "value may not be empty"
OUT_OF_RANGE = "out of range"  # the encoder's, outside the feature's input domain
SAME = "same as current"
NOTHING = "nothing contested"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def value_errors(spec: ModelSpec, name: str, value: Any,
                 loc: list[str | int]) -> list[FieldError]:
    """Why `value` cannot stand for feature `name` (empty when it can): the model must be
    able to read it, and it must lie in the feature's input domain."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return [field_error(loc, EMPTY, "a value", "nothing", field=name,
                            fix="Give the value you say is right.")]
    record = {f.name: None for f in spec.features} | {name: value}
    return [field_error(loc, p.problem, p.expected, p.got, p.fix, field=name)
            for p in Encoder(spec).problems(record) if p.field == name]


def _same(current: Any, claimed: Any) -> bool:
    if _is_number(current) and _is_number(claimed):
        return float(current) == float(claimed)
    return current == claimed


def claim_errors(spec: ModelSpec, used: dict[str, Any], body: DisputeCreate) -> list[FieldError]:
    """Every reason this dispute cannot be opened about a prediction of model `spec` that
    used the values `used` (empty when it can)."""
    if not body.contested_features and not body.statement.strip():
        return [field_error(["body", "contested_features"], NOTHING,
                            "at least one contested feature, or a statement",
                            "no feature and no statement",
                            fix="Say which factor is wrong and its right value, or explain "
                                "in the statement.", field="contested_features")]
    errors: list[FieldError] = []
    for i, c in enumerate(body.contested_features):
        loc: list[str | int] = ["body", "contested_features", i]
        if c.feature not in spec.feature_names:
            errors.append(field_error(loc + ["feature"], "unknown feature",
                                      f"one of {', '.join(spec.feature_names)}", c.feature,
                                      fix="Contest a factor the prediction used.",
                                      field=c.feature))
            continue
        loc.append("claimed_value")
        problems = value_errors(spec, c.feature, c.claimed_value, loc)
        if not problems and _same(used.get(c.feature), c.claimed_value):
            problems = [field_error(
                loc, SAME, "a value other than the one the prediction used",
                c.claimed_value, field=c.feature,
                fix="Contest only a value that is wrong, and give the right one.")]
        errors.extend(problems)
    return errors
