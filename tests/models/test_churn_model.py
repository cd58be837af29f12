"""The model contract: encoding and refusals, exact explanations, plain-language reasons."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st

from models import (
    CalibrationSpec,
    ChurnModel,
    DecisionSpec,
    FeatureSpec,
    InvalidFeatures,
    Localized,
    ModelSpec,
    calibrate,
    pseudonymise,
    readable_name,
)


@pytest.fixture(scope="module")
def model() -> ChurnModel:
    rng = np.random.default_rng(0)
    n = 3000
    contract = rng.integers(0, 3, n)
    plan = rng.integers(0, 2, n)
    charges = rng.normal(60, 20, n)
    charges[rng.random(n) < 0.05] = np.nan
    logit = 1.0 - 1.2 * contract + 0.8 * plan + 0.02 * np.nan_to_num(charges - 60)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = np.column_stack([contract, plan, charges]).astype(float)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 8},
                        lgb.Dataset(X, y, categorical_feature=[1]), 60)
    spec = ModelSpec(
        dataset="unit", target="Churn", positive_label="Yes",
        features=[
            FeatureSpec(name="Contract", kind="ordinal",
                        categories=["Month-to-month", "One year", "Two year"],
                        label=Localized(en="Contract type", fr="Type de contrat"),
                        value_labels={"Month-to-month": Localized(en="month-to-month",
                                                                  fr="sans engagement")}),
            FeatureSpec(name="Plan", kind="categorical", categories=["basic", "premium"]),
            FeatureSpec(name="MonthlyCharges", kind="numeric", min=0, max=150,
                        unit=Localized(en="per month", fr="par mois")),
        ],
        calibration=CalibrationSpec(method="sigmoid", a=0.9, b=-0.1),
        decision=DecisionSpec(contact_fraction=0.2, high_threshold=0.6, medium_threshold=0.4),
    )
    return ChurnModel.from_parts(booster, spec)


def good() -> dict:
    return {"Contract": "Month-to-month", "Plan": "premium", "MonthlyCharges": 80.5}


def test_explanation_adds_up_and_matches_shap_tree_explainer(model):
    records = [good(), {**good(), "MonthlyCharges": None, "Contract": "Two year"}]
    exp = model.explain_records(records)
    raw = model.raw_margin(exp.X)
    assert np.allclose(exp.base_value + exp.shap.sum(axis=1), raw, atol=1e-6)
    reference = np.asarray(shap.TreeExplainer(model.booster).shap_values(exp.X))
    reference = reference[-1] if reference.ndim == 3 else reference
    assert np.allclose(exp.shap, reference, atol=1e-6)
    assert np.allclose(exp.score, calibrate(raw, model.spec.calibration))


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        ({**good(), "Colour": "red"}, "Colour", "unknown feature"),
        ({k: v for k, v in good().items() if k != "Plan"}, "Plan", "missing required feature"),
        ({**good(), "MonthlyCharges": "80"}, "MonthlyCharges", "wrong type"),
        ({**good(), "MonthlyCharges": True}, "MonthlyCharges", "wrong type"),
        ({**good(), "Plan": 3}, "Plan", "wrong type"),
        ({**good(), "Plan": "gold"}, "Plan", "unseen category"),
        ({**good(), "Contract": "month-to-month"}, "Contract", "unseen category"),
    ],
)
def test_bad_records_are_refused_naming_the_field(model, record, field, problem):
    with pytest.raises(InvalidFeatures) as info:
        model.explain_records([record])
    [found] = info.value.problems
    assert (found.field, found.problem) == (field, problem)
    assert found.expected and found.got and found.fix
    assert field in str(info.value)


def test_every_problem_of_a_record_is_reported(model):
    problems = model.encoder.problems({"Plan": "gold", "Extra": 1})
    assert {p.field for p in problems} == {"Plan", "Extra", "Contract", "MonthlyCharges"}


def test_contributions_sorted_with_sentences_in_both_languages(model):
    exp = model.explain_records([good()])
    en = model.contributions(exp, 0, "en")
    fr = model.contributions(exp, 0, "fr")
    assert [abs(c.shap) for c in en] == sorted((abs(c.shap) for c in en), reverse=True)
    contract = next(c for c in en if c.feature == "Contract")
    # no sentence in this spec's notes: the generic "label: value" form
    assert contract.text.startswith("Contract type: month-to-month \u2014 this ")
    assert "the estimate" in contract.text
    contract_fr = next(c for c in fr if c.feature == "Contract")
    assert contract_fr.text.startswith("Type de contrat\u00a0: sans engagement \u2014 cela ")
    charges = next(c for c in en if c.feature == "MonthlyCharges")
    assert charges.text.startswith("Monthly charges: 80.50 per month")
    assert all(c.text != c.feature for c in en + fr)


def test_pyfunc_predict_returns_calibrated_scores(model):
    import pandas as pd

    frame = pd.DataFrame([good(), {**good(), "Contract": "Two year"}])
    out = model.predict(None, frame)
    assert list(out.columns) == ["score"]
    assert out["score"].iloc[0] > out["score"].iloc[1]


def test_readable_name_and_pseudonym():
    assert readable_name("MonthlyCharges") == "Monthly charges"
    assert readable_name("tenure") == "Tenure"
    assert readable_name("num_support_calls") == "Num support calls"
    a = pseudonymise("7590-VHVEG", "k1")
    assert a == pseudonymise("7590-VHVEG", "k1") != pseudonymise("7590-VHVEG", "k2")
    assert a.startswith("cu_") and "7590" not in a
    with pytest.raises(ValueError, match="CHURN_PSEUDONYM_KEY"):
        pseudonymise("x", "")


@pytest.mark.parametrize("key", ["k1", "dev-only-pseudonym-key-change-me", "é" * 40,
                                 "x" * 64, "y" * 65, "z" * 200])
def test_a_pseudonym_is_the_keyed_hmac_sha256_of_the_id(key):
    """The prepared hash states give exactly the standard library's HMAC-SHA256, for keys
    shorter than, as long as and longer than SHA-256's block (hashed first), so pseudonyms
    stored before stay the customers' pseudonyms."""
    import hashlib
    import hmac

    for customer_id in ("7590-VHVEG", "", "é/ü", "1" * 300):
        expected = hmac.new(key.encode(), customer_id.encode(), hashlib.sha256).hexdigest()
        assert pseudonymise(customer_id, key) == "cu_" + expected[:32]


def test_isotonic_calibration_is_monotone():
    spec = CalibrationSpec(method="isotonic", x=[-2, 0, 2], y=[0.1, 0.3, 0.8])
    out = calibrate(np.array([-5, -1, 0, 1, 5]), spec)
    assert np.all(np.diff(out) >= 0) and out[0] == 0.1 and out[-1] == 0.8


_ODD = st.one_of(
    st.sampled_from(["Month-to-month", "One year", "Two year", "basic", "premium", "",
                     " basic", "BASIC", "3.5", " 7 ", "abc", "1e3", "inf"]),
    st.none(), st.just(float("nan")), st.booleans(), st.integers(-5, 200),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({"Contract": _ODD, "Plan": _ODD,
                                       "MonthlyCharges": _ODD}), min_size=1, max_size=5))
def test_small_frames_encode_exactly_like_large_ones(model, rows):
    """A one-request frame takes the Python path, a batch the pandas path: same codes,
    whatever the column dtypes and odd values."""
    import pandas as pd

    enc = model.encoder
    frame = pd.DataFrame(rows)
    for column in (frame, frame.astype(object)):
        small = enc.encode_frame(column)
        large = enc.encode_frame(pd.concat([column] * 40, ignore_index=True))[: len(rows)]
        np.testing.assert_array_equal(small, large)


def _rows_with_missing(n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.integers(0, 3, n), rng.integers(0, 2, n),
                         rng.normal(60, 30, n)]).astype(float)
    X[rng.random(n) < 0.1, 2] = np.nan
    X[rng.random(n) < 0.05, 0] = np.nan
    return X


def _one_by_one_in_threads(model: ChurnModel, X: np.ndarray) -> np.ndarray:
    import threading

    got: dict[int, np.ndarray] = {}

    def one_by_one(part: int) -> None:
        got[part] = np.vstack([model.phi(X[i:i + 1]) for i in range(part, len(X), 4)])

    threads = [threading.Thread(target=one_by_one, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = np.empty((len(X), X.shape[1] + 1))
    for part in range(4):
        out[part::4] = got[part]
    return out


def test_one_row_contributions_are_bit_for_bit_those_of_a_block(model):
    """One row (an online request) and a block (the batch) give the same values to the
    last bit, missing values included, from several threads at once; and they are
    LightGBM's TreeSHAP values, to rounding (the model's small trees are explained by
    table, `models.treeshap`), with LightGBM's base value exactly."""
    import pickle

    assert model._tables() is not None  # the table path is the one under test
    X = _rows_with_missing()
    block = model.phi(X)
    assert np.array_equal(_one_by_one_in_threads(model, X), block)
    expected = model.booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(block, expected, rtol=0, atol=1e-12)
    assert np.array_equal(block[:, -1], expected[:, -1])
    ex = model.explain(X[:1])
    assert ex.base_value == expected[0, -1] and ex.margin[0] == block[0].sum()
    # the model object still pickles (MLflow logs it) without its tables or C handles
    again = pickle.loads(pickle.dumps(model))
    assert "_shap_tables" not in pickle.loads(pickle.dumps(model)).__dict__
    assert np.array_equal(again.phi(X[:1]), block[:1])


def test_large_trees_take_lightgbms_treeshap_bit_for_bit(model):
    """Trees beyond the tables' reach (`models.treeshap.MAX_SPLITS`) are explained by
    LightGBM itself: one row through its single-row fast predictor (set up once per
    thread), a block through `Booster.predict`, the same values to the last bit."""
    rng = np.random.default_rng(3)
    X = _rows_with_missing(3000)
    y = (rng.random(3000) < 0.4).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 40,
                         "min_data_in_leaf": 5}, lgb.Dataset(X, y, categorical_feature=[1]),
                        20)
    big = ChurnModel.from_parts(booster, model.spec)
    assert big._tables() is None
    X = X[:400]
    expected = booster.predict(X, pred_contrib=True)
    assert np.array_equal(big.phi(X), expected)
    assert np.array_equal(_one_by_one_in_threads(big, X), expected)


def test_pyfunc_predict_refuses_what_the_api_refuses_naming_the_row(model):
    """Whoever loads the registered model (`mlflow models serve`, a notebook) is held to
    the service's rules: an unseen category or text for a number is refused with the row
    and the field, not scored as if the value were missing. Missing values and columns the
    model does not use are fine."""
    import pandas as pd

    from models.encoding import InvalidFeatures

    fine = pd.DataFrame([good() | {"customerID": "7590-VHVEG"},
                         {**good(), "MonthlyCharges": None}])
    assert len(model.predict(None, fine)) == 2
    for bad, field in (({"Contract": "Ten year"}, "Contract"),
                       ({"MonthlyCharges": "lots"}, "MonthlyCharges")):
        frame = pd.DataFrame([good(), {**good(), **bad}])
        with pytest.raises(InvalidFeatures) as caught:
            model.predict(None, frame)
        assert caught.value.row == 1 and [p.field for p in caught.value.problems] == [field]
        assert str(caught.value).startswith("record 1: ")


@pytest.mark.parametrize("method", ["sigmoid", "none"])
def test_calibration_of_an_extreme_margin_neither_overflows_nor_warns(method):
    import warnings

    from models.spec import CalibrationSpec

    margins = np.array([-1e6, -800.0, -3.0, 0.0, 3.0, 800.0, 1e6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in exp"
        p = calibrate(margins, CalibrationSpec(method=method, a=1.0, b=0.0))
    assert np.all(np.isfinite(p)) and np.all(np.diff(p) >= 0)
    assert 0.0 < p[0] < 1e-5 and 1.0 - 1e-5 < p[-1] < 1.0
    assert p[2] == pytest.approx(1.0 / (1.0 + np.exp(3.0)))
