"""Behavioural tests of a model trained on the synthetic data: all else equal, the score
moves the way the (known) mechanism says it should, for every customer tried."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from models import ChurnModel, InvalidFeatures
from training.synthetic import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(synthetic_run) -> ChurnModel:
    mlflow.set_tracking_uri(synthetic_run.settings.tracking_uri)
    return mlflow.pyfunc.load_model(synthetic_run.result.model_uri).unwrap_python_model()


@pytest.fixture(scope="module")
def customers(model):
    return generate(800, seed=99)[model.feature_names].copy()


def _scores(model, frame):
    return model.explain_frame(frame).score


def test_two_year_contract_never_raises_risk_over_month_to_month(model, customers):
    assert "Contract" in model.feature_names
    monthly = _scores(model, customers.assign(Contract="Month-to-month"))
    one_year = _scores(model, customers.assign(Contract="One year"))
    two_year = _scores(model, customers.assign(Contract="Two year"))
    assert np.all(two_year <= monthly + 1e-12)
    assert np.all(two_year <= one_year + 1e-12)
    assert two_year.mean() < monthly.mean() - 0.05


def test_longer_tenure_never_raises_risk(model, customers):
    assert "tenure" in model.feature_names
    short = _scores(model, customers.assign(tenure=2))
    long_ = _scores(model, customers.assign(tenure=48))
    assert np.all(long_ <= short + 1e-12)


def test_more_support_calls_never_lower_risk(model, customers):
    if "SupportCalls" not in model.feature_names:
        pytest.fail("the mechanism's support-call effect was minimised away")
    few = _scores(model, customers.assign(SupportCalls=0))
    many = _scores(model, customers.assign(SupportCalls=5))
    assert np.all(many >= few - 1e-12)


def test_sensitive_attributes_cannot_be_passed(model, customers):
    record = customers.iloc[0].to_dict()
    record = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in record.items()}
    for column in ("gender", "SeniorCitizen", "Partner"):
        with pytest.raises(InvalidFeatures, match=f"{column}: unknown feature"):
            model.explain_records([{**record, column: "Female"}])


def test_fibre_customers_score_higher_on_average(model, customers):
    if "InternetService" not in model.feature_names:
        pytest.fail("InternetService was minimised away")
    fibre = _scores(model, customers.assign(InternetService="Fiber optic"))
    dsl = _scores(model, customers.assign(InternetService="DSL"))
    assert fibre.mean() > dsl.mean()
