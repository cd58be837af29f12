"""The rulebook of a dispute: what a customer may claim about a prediction, and what a
reviewer may decide and correct.

`claim_errors` is applied by the disputes service to every dispute, and
`decision_errors` / `correction_errors` by the review service to every decision and
preview, whoever sends them (the JSON API, the customer and reviewer pages): one set of
rules, each refusal a `FieldError` naming the field, with a stable `problem` code the
pages translate. What the request schema already refuses (text with NUL, too long, not
text at all) stays there (`schemas.plain`); the schema also trims the free texts (the
customer's statement, the reviewer's reasons), so a text of spaces is no text.

A claimed or corrected value must be one the model can read (a number, a known category),
not empty (null is "unknown", which is no claim and no correction), not the value the
prediction already used (claims), and within the feature's input domain (the model
contract's range and whole-number rule, `FeatureSpec.valid_range`): the model encoder
checks it, for every entry point alike, and its words are the answer (a JSON boolean is
"wrong type", an integer no float can hold "not a finite number", as for a prediction).

A number sent as text is refused, with the reason it is not a number as people write it
(`read_number`, which the pages use to read a number field: digits, an optional sign, one
decimal separator; a comma only where it cannot be a thousands separator).

A rectification corrects what the customer contested, and nothing else: the dispute is the
customer's question about those values, the record stays restricted for it, and the
customer is told the outcome about them. A reviewer's correction of any other feature is
refused at its field (`NOT_CONTESTED`), naming the contested features; some of them may be
corrected and others left (the customer may be right about one value and wrong about
another). A dispute that contested no value (a statement alone) cannot be rectified:
upheld or overturned, or the customer is asked which value is wrong (the reviewer's page
says the same). A value the customer did not contest that is wrong too is the subject of
a rectification request (Art. 16, `serving/rights`), or of a dispute the customer files.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
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
NOT_CONTESTED = "not contested"  # a correction of a feature the dispute did not contest
WRONG_TYPE = "wrong type"  # the encoder's
NOT_FINITE = "not a finite number"  # the encoder's
THOUSANDS = "thousands separator"  # a number written with digit groups ("10,000", "1 000")
EXPONENT = "exponent"  # a number written with an exponent ("1e3")

EMPTY_FIX = "Give the right value."
RATIONALE_FIX = "Give the reasons for the decision: the customer will read them."


# -- a number as people write it -----------------------------------------------------------
_SIGN = r"(?P<sign>[+\-\u2212]?)"  # U+2212 is the minus sign the pages print
_NUMBER = re.compile(_SIGN + r"(?P<whole>[0-9]*)(?:(?P<sep>[.,])(?P<frac>[0-9]+))?")
# digits in groups: separators of thousands (",", ".", "'", "’", "_", spaces) and maybe
# a decimal part ("10 000", "1,000,000", "1.234,5", "1_0")
_GROUPED = re.compile(r"[+\-\u2212]?[0-9]+(?:[,.'\u2019_\s][0-9]+)+")
_EXPONENT = re.compile(r"[+\-\u2212]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)[eE][+\-\u2212]?[0-9]+")
_NOT_FINITE = frozenset({"inf", "infinity", "infini", "nan", "\u221e"})


def _plain_number(text: str) -> re.Match[str] | None:
    """The parts of `text` written as a plain number (digits, an optional sign, one
    decimal separator followed by digits), or None."""
    m = _NUMBER.fullmatch(text)
    return m if m is not None and (m["whole"] or m["frac"]) else None


def _ambiguous(m: re.Match[str]) -> bool:
    """A comma followed by exactly three digits after a whole part that is not zero:
    "10,000" may be ten thousand or ten, so it is not read at all."""
    return m["sep"] == "," and len(m["frac"]) == 3 and m["whole"].strip("0") != ""


def read_number(text: str) -> float | None:
    """The number `text` is, as a person writes it (spaces around it ignored): digits
    with an optional sign (+, -, or the minus sign U+2212) and at most one decimal
    separator, a point or a comma ("2.5", "2,5", ".5"); None for anything else. A comma
    followed by exactly three digits ("10,000", "1,234") is not read: it may be a
    thousands separator. No digit groups, underscores, spaces inside, exponents, "inf" or
    "nan": `number_text_problem` says why such a text is not read."""
    m = _plain_number(text.strip())
    if m is None or _ambiguous(m):
        return None
    sign = "-" if m["sign"] in ("-", "\u2212") else ""
    return float(f"{sign}{m['whole'] or '0'}.{m['frac'] or '0'}")


def number_text_problem(text: str) -> tuple[str, str]:
    """Why `text` is not a number as `read_number` reads it: (problem code, fix)."""
    t = text.strip()
    m = _plain_number(t)
    if m is not None and _ambiguous(m):
        whole, frac = m["sign"] + m["whole"], m["frac"]
        return THOUSANDS, (f"Write {whole}{frac} without a thousands separator, or "
                           f"{whole}.{frac} with a point if the comma marks decimals.")
    if _GROUPED.fullmatch(t):
        return THOUSANDS, ("Write the number without a thousands separator or spaces "
                           "between its digits (10000, not 10,000 or 10 000), with at most "
                           "one decimal point.")
    if _EXPONENT.fullmatch(t):
        return EXPONENT, "Write the number in full, without an exponent (1000, not 1e3)."
    if t.lstrip("+-\u2212").lower() in _NOT_FINITE:
        return NOT_FINITE, "Give the right value as a finite number."
    return WRONG_TYPE, ("Write a number with the digits 0-9, an optional sign and at most "
                        "one decimal point.")


def _number_text_errors(name: str, text: str, loc: list[str | int]) -> list[FieldError]:
    """A text given for a numeric feature: refused (the API takes JSON numbers), with
    the reason it is not a number when it is not one."""
    got = f"str {text!r}"
    number = read_number(text)
    if number is not None:
        return [field_error(loc, WRONG_TYPE, "a number", got, field=name,
                            fix=f"Send it as a JSON number, not text: {number:g}.")]
    problem, fix = number_text_problem(text)
    return [field_error(loc, problem, "a number: digits, an optional sign and at most one "
                        "decimal point", got, fix=fix, field=name)]


# -- values ---------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def value_errors(spec: ModelSpec, name: str, value: Any,
                 loc: list[str | int]) -> list[FieldError]:
    """Why `value` cannot stand for feature `name` as a claimed or corrected value (empty
    when it can): it may not be empty, the model must be able to read it (a JSON number
    for a number, a known category), and it must lie in the feature's input domain."""
    if value is None or (isinstance(value, str) and not value.strip()):
        got = "null" if value is None else ("only spaces" if value else "an empty text")
        return [field_error(loc, EMPTY, "a value", got, field=name, fix=EMPTY_FIX)]
    if (isinstance(value, str) and name in spec.feature_names
            and spec.feature(name).kind == "numeric"):
        return _number_text_errors(name, value, loc)
    record = {f.name: None for f in spec.features} | {name: value}
    # "send null when unknown" is no answer here: a claim or a correction is a value
    return [field_error(loc, p.problem, p.expected, p.got,
                        "Give the right value as a finite number." if p.problem == NOT_FINITE
                        else p.fix, field=name)
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


# -- decisions ------------------------------------------------------------------------------
def rationale_errors(rationale: str) -> list[FieldError]:
    """Why these reasons cannot go with a decision (empty when they can): the customer
    reads them, so they are words, not nothing and not spaces."""
    if rationale and rationale.strip():
        return []
    return [field_error(["body", "rationale"], EMPTY,
                        "the reasons for the decision, in words the customer will read",
                        "only spaces" if rationale else "nothing", field="rationale",
                        fix=RATIONALE_FIX)]


def _not_contested(name: str, contested: list[str], loc: list[str | int]) -> FieldError:
    """A correction of `name`, which the dispute did not contest."""
    if not contested:
        return field_error(
            loc, NOT_CONTESTED, "no correction: the customer contested no value", name,
            field=name, fix="The customer contested no value: uphold or overturn the "
            "decision, or ask the customer which value is wrong.")
    listed = ", ".join(contested)
    return field_error(
        loc, NOT_CONTESTED, f"a feature the customer contested: {listed}", name, field=name,
        fix=f"Correct only what the dispute contested ({listed}); leave {name} out of "
        "corrected_features. A wrong value the customer did not contest is corrected "
        "through a rectification request, or a dispute of its own.")


def correction_errors(spec: ModelSpec, corrected: Mapping[str, Any],
                      contested: Collection[str] | None = None) -> list[FieldError]:
    """Why these corrected values cannot be applied with the served model `spec` (empty
    when they can), each at body.corrected_features.<feature>: a feature the dispute did
    not contest (`contested`: the features it contested, in its order; None for a
    caller that offers nothing else, such as the reviewer's page), else the value as a
    claimed value (`value_errors`)."""
    errors: list[FieldError] = []
    allowed = None if contested is None else list(dict.fromkeys(contested))
    for name, value in corrected.items():
        loc: list[str | int] = ["body", "corrected_features", name]
        if allowed is not None and name not in allowed:
            errors.append(_not_contested(name, allowed, loc))
            continue
        errors.extend(value_errors(spec, name, value, loc))
    return errors


def decision_errors(spec: ModelSpec, decision: str, rationale: str,
                    corrected: Mapping[str, Any] | None,
                    contested: Collection[str] | None = None) -> list[FieldError]:
    """Every reason a decision with these reasons and (rectified) corrections cannot be
    recorded with the served model `spec` for a dispute that contested `contested`: the
    reasons and each correction together."""
    errors = rationale_errors(rationale)
    if decision == "rectified":
        errors += correction_errors(spec, corrected or {}, contested)
    return errors

