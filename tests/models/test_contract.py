"""The served contract: its version changes exactly when what a client may send changes."""

from models.contract import contract_differences, contract_version
from models.spec import CalibrationSpec, DecisionSpec, FeatureSpec, ModelSpec


def _spec(*features: FeatureSpec) -> ModelSpec:
    return ModelSpec(dataset="d", target="Churn", positive_label="Yes",
                     features=list(features), calibration=CalibrationSpec(method="none"),
                     decision=DecisionSpec(contact_fraction=0.2, high_threshold=0.6,
                                           medium_threshold=0.3))


TENURE = FeatureSpec(name="tenure", kind="numeric", min=0, max=72, integer=True)
CONTRACT = FeatureSpec(name="Contract", kind="ordinal",
                       categories=["Month-to-month", "One year", "Two year"])
PAY = FeatureSpec(name="Pay", kind="categorical", categories=["card", "check"])


def test_same_contract_same_version_whatever_the_order_or_the_words():
    a = _spec(TENURE, CONTRACT, PAY)
    worded = PAY.model_copy(update={"categories": ["check", "card"], "description": "x"})
    b = _spec(worded, CONTRACT, TENURE).model_copy(update={"trained_at": "later",
                                                          "training_rows": 5})
    assert contract_version(a) == contract_version(b)
    assert len(contract_version(a)) == 12
    assert contract_differences(a, b) == []


def test_every_kind_of_difference_is_named():
    old = _spec(TENURE, CONTRACT, PAY)
    cases = {
        "features removed: Pay": _spec(TENURE, CONTRACT),
        "features added: Calls": _spec(TENURE, CONTRACT, PAY, FeatureSpec(
            name="Calls", kind="numeric", min=0, max=9)),
        "Pay: categories added 'cash'": _spec(TENURE, CONTRACT, PAY.model_copy(
            update={"categories": ["card", "check", "cash"]})),
        "Contract: order": _spec(TENURE, CONTRACT.model_copy(update={
            "categories": ["Two year", "One year", "Month-to-month"]}), PAY),
        "tenure: valid range 0 to 120 instead of 0 to 108": _spec(
            TENURE.model_copy(update={"max": 80}), CONTRACT, PAY),
        "tenure: any number instead of whole numbers only": _spec(
            TENURE.model_copy(update={"integer": False}), CONTRACT, PAY),
        "Pay: kind ordinal instead of categorical": _spec(
            TENURE, CONTRACT, PAY.model_copy(update={"kind": "ordinal"})),
    }
    for expected, new in cases.items():
        differences = contract_differences(new, old)
        assert any(d.startswith(expected) for d in differences), (expected, differences)
        assert contract_version(new) != contract_version(old), expected
