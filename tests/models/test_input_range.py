"""The numbers a feature accepts, as the model states them to people."""

from __future__ import annotations

import pytest

from models.encoding import Encoder
from models.spec import CalibrationSpec, DecisionSpec, FeatureSpec, ModelSpec


def _ranged(**kw) -> FeatureSpec:
    return FeatureSpec(name="Products", kind="numeric", **kw)


def _encoder(f: FeatureSpec) -> Encoder:
    return Encoder(ModelSpec(dataset="d", target="Churn", positive_label="Yes", features=[f],
                             calibration=CalibrationSpec(method="none"),
                             decision=DecisionSpec(contact_fraction=0.2, high_threshold=0.6,
                                                   medium_threshold=0.3)))


def test_a_whole_number_feature_states_whole_bounds():
    # training saw 1-4: half the span either side is -0.5-5.5, never below 0
    f = _ranged(min=1.0, max=4.0, integer=True)
    assert f.valid_range() == (0.0, 5.0)
    problems = _encoder(f).problems({"Products": 6})
    assert problems[0].expected == "a whole number from 0 to 5"
    assert "from 0 to 5 " in problems[0].fix


@pytest.mark.parametrize("value", [0, 1, 5])
def test_the_same_whole_numbers_are_accepted(value):
    f = _ranged(min=1.0, max=4.0, integer=True)
    assert _encoder(f).problems({"Products": value}) == []


def test_other_numbers_keep_their_bounds():
    assert _ranged(min=1.0, max=4.0).valid_range() == (0.0, 5.5)
    # a range without a whole number in it is stated as given, not turned upside down
    assert _ranged(lower=0.2, upper=0.8, integer=True).valid_range() == (0.2, 0.8)
