"""A number field reads what a person types, and nothing else: digits, an optional sign and
one decimal separator (a point; a comma only when it cannot be a thousands separator, so
the French "2,5" works and "10,000" is refused, never read as 10). Underscores, spaces
inside, several separators, exponents, "inf" and "nan" are not read: the text goes to the
service as it is, which refuses it with the reason (`serving.disputes.rules`), and the page
words the reason."""

from __future__ import annotations

import re
from typing import Any

import pytest

from models.spec import CalibrationSpec, DecisionSpec, FeatureSpec, ModelSpec
from serving.disputes import rules
from serving.errors import field_error
from serving.web import views
from serving.web.i18n import translator
from tests.serving.web.test_pages import post_contest_form

SPEC = ModelSpec(
    dataset="d", target="Churn", positive_label="Yes",
    features=[FeatureSpec(name="charges", kind="numeric", min=0, max=20000),
              FeatureSpec(name="Contract", kind="categorical",
                          categories=["Month-to-month", "1,000 days"])],
    calibration=CalibrationSpec(method="none"),
    decision=DecisionSpec(contact_fraction=0.2, high_threshold=0.6, medium_threshold=0.3))

READ = [
    ("12", 12.0), ("-3", -3.0), ("+7", 7.0), ("\u22123", -3.0), ("007", 7.0),
    ("2.5", 2.5), ("2,5", 2.5), ("-2,75", -2.75), ("0,125", 0.125), (",5", 0.5),
    (".5", 0.5), ("10.000", 10.0), ("1,2345", 1.2345), ("  42  ", 42.0),
    ("\u00a012,5\u00a0", 12.5),
]


@pytest.mark.parametrize(("typed", "value"), READ, ids=[r[0] for r in READ])
def test_a_number_as_people_write_it_is_read(typed, value):
    got = views.typed_value(SPEC, "charges", typed)
    assert got == value and type(got) is float


# (typed, the problem the service gives the text the form passes on)
NOT_READ = [
    ("10,000", rules.THOUSANDS), ("1,234", rules.THOUSANDS), ("-1,500", rules.THOUSANDS),
    ("1,000,000", rules.THOUSANDS), ("1.000.000", rules.THOUSANDS),
    ("1,234.5", rules.THOUSANDS), ("1.234,5", rules.THOUSANDS), ("10 000", rules.THOUSANDS),
    ("10\u202f000", rules.THOUSANDS), ("10\u00a0000", rules.THOUSANDS),
    ("10'000", rules.THOUSANDS), ("1_0", rules.THOUSANDS), ("1_000", rules.THOUSANDS),
    ("1e3", rules.EXPONENT), ("2.5E-3", rules.EXPONENT), ("1e400", rules.EXPONENT),
    ("inf", "not a finite number"), ("-Infinity", "not a finite number"),
    ("nan", "not a finite number"), ("NaN", "not a finite number"),
    ("twelve", "wrong type"), ("5.", "wrong type"), ("1.2.3", rules.THOUSANDS),
    ("--3", "wrong type"), ("0x10", "wrong type"), ("\u0663", "wrong type"),
    ("\uff11\uff12", "wrong type"), ("1 2 3 4", rules.THOUSANDS), ("12abc", "wrong type"),
]


@pytest.mark.parametrize(("typed", "problem"), NOT_READ, ids=[r[0] for r in NOT_READ])
def test_what_is_not_plainly_a_number_goes_on_as_text_and_is_refused_with_its_reason(
        typed, problem):
    got = views.typed_value(SPEC, "charges", typed)
    assert got == typed.strip()  # never a number the person did not write
    errors = rules.value_errors(SPEC, "charges", got, ["body", "x"])
    assert [e.problem for e in errors] == [problem]
    assert errors[0].fix and errors[0].expected and errors[0].got


def test_empty_is_none_and_a_category_is_its_text():
    assert views.typed_value(SPEC, "charges", "") is None
    assert views.typed_value(SPEC, "charges", "  ") is None
    assert views.typed_value(SPEC, "Contract", " 1,000 days ") == "1,000 days"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_each_reason_has_words_in_the_pages_language(lang):
    t = translator(lang)
    for problem in (rules.THOUSANDS, rules.EXPONENT, "not a finite number", "wrong type",
                    rules.EMPTY):
        error = field_error(["body", "x"], problem, "a number", "text", field="charges")
        words = views.message(error, t, SPEC)
        assert words and words != f"{problem} (a number)", (problem, words)  # not the code
    thousands = views.message(field_error(["body"], rules.THOUSANDS, "", ""), t, SPEC)
    assert "10000" in thousands


# -- the customer's contest form ------------------------------------------------------------


def _number(spec: Any) -> Any:
    return next(f for f in spec.features
                if f.kind == "numeric" and f.min is not None and f.min >= 0)




@pytest.mark.parametrize(("typed", "problem", "words"), [
    ("10,000", rules.THOUSANDS, "without a thousands separator"),
    ("1_0", rules.THOUSANDS, "without a thousands separator"),
    ("1 0", rules.THOUSANDS, "without a thousands separator"),
    ("1e1", rules.EXPONENT, "without an exponent"),
    ("nan", "not a finite number", "Enter a number."),
])
def test_the_contest_form_never_changes_the_number_typed(contest_page, contest, typed, problem,  # noqa: ANN001
                                                         words):
    p, me, page = contest_page
    f = _number(contest.host.current().spec)
    r = post_contest_form(page, {"wrong": f.name, f"value-{f.name}": typed, "statement": "x"})
    assert r.status_code == 422, r.text
    m = re.search(rf'id="error-{re.escape(f.name)}" data-problem="([^"]*)">([^<]*)<', r.text)
    assert m and m.group(1) == problem and words in m.group(2), r.text[-3000:]
    assert contest.client.get("/v1/disputes", headers=me).json()["items"] == []


def test_the_french_form_reads_a_decimal_comma(contest_page, contest):  # noqa: ANN001
    p, me, page = contest_page
    f = _number(contest.host.current().spec)
    current = next(c["value"] for c in p["contributions"] if c["feature"] == f.name)
    claimed = float(current) + 2
    page.get("/me", params={"lang": "fr"})
    r = post_contest_form(page, {"wrong": f.name, "statement": "",
                          f"value-{f.name}": f"{claimed:.0f},0"})
    assert r.status_code == 303, r.text
    mine = contest.client.get("/v1/disputes", headers=me).json()["items"]
    assert [c["claimed_value"] for c in mine[0]["contested_features"]] == [claimed]


def test_the_french_form_words_the_thousands_separator_in_french(contest_page, contest):  # noqa: ANN001
    p, me, page = contest_page
    f = _number(contest.host.current().spec)
    page.get("/me", params={"lang": "fr"})
    r = post_contest_form(page, {"wrong": f.name, f"value-{f.name}": "1 000", "statement": ""})
    assert r.status_code == 422
    assert "séparateur de milliers" in r.text
