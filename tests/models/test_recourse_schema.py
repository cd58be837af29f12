"""The schema's `actionable:` key (issue 16): what may change to lower a customer's risk.

Refused on a sensitive attribute, an id, the target or a dropped column, on a key that
does not fit the feature's kind, and on a direction that could only raise the risk under
the feature's monotone constraint; carried into the served spec by training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from models.dataset_schema import DatasetSchema, SchemaError
from models.spec import Actionability, FeatureSpec

REPO = Path(__file__).resolve().parents[2]


def load(tmp_path: Path, raw: dict) -> DatasetSchema:
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return DatasetSchema.load(path)


BASE = {"name": "t", "id_column": "id", "target": {"column": "Churn", "positive": "Yes"},
        "sensitive": ["gender"], "drop": ["notes"]}


@pytest.mark.parametrize("column", ["gender", "id", "Churn", "notes"])
def test_actionable_refused_on_sensitive_id_target_and_dropped(tmp_path, column):
    raw = BASE | {"features": {column: {"actionable": True}}}
    with pytest.raises(SchemaError, match=f"{column}.*actionable"):
        load(tmp_path, raw)


@pytest.mark.parametrize(("note", "message"), [
    ({"type": "numeric", "actionable": {"allowed": ["a"]}}, "is a number"),
    ({"type": "categorical", "actionable": {"max_change": 3}}, "are for numbers"),
    ({"type": "categorical", "actionable": {"direction": "increase"}}, "has no order"),
    ({"type": "ordinal", "order": ["a", "b"], "actionable": {"allowed": ["a", "c"]}},
     "not categories"),
    ({"type": "ordinal", "order": ["a", "b"], "monotone": "decreasing",
      "actionable": {"direction": "decrease"}}, "can only raise the risk"),
    ({"type": "numeric", "monotone": "increasing", "actionable": {"direction": "increase"}},
     "can only raise the risk"),
    ({"type": "numeric", "actionable": {"bounds": [5, 1]}}, "lowest < highest"),
    ({"type": "numeric", "actionable": {"max_change": -1}}, "greater than 0"),
    ({"type": "numeric", "actionable": {"direction": "sideways"}}, "direction"),
    ({"type": "numeric", "actionable": {"unknown_key": 1}}, "unknown_key"),
])
def test_actionable_keys_must_fit_the_feature(tmp_path, note, message):
    with pytest.raises(SchemaError, match=message):
        load(tmp_path, BASE | {"features": {"x": note}})


def test_true_is_any_direction_and_false_or_absent_is_immutable(tmp_path):
    schema = load(tmp_path, BASE | {"features": {"a": {"actionable": True},
                                                 "b": {"actionable": False}, "c": {}}})
    assert schema.features["a"].actionable == Actionability(direction="any")
    assert schema.features["b"].actionable is None
    assert schema.features["c"].actionable is None


@pytest.mark.parametrize("name", ["synthetic", "telco"])
def test_built_in_schemas_mark_levers_and_never_tenure_or_history(name):
    schema = DatasetSchema.load(REPO / "training" / "datasets" / f"{name}.yaml")
    marked = {c for c, n in schema.features.items() if n.actionable is not None}
    assert {"Contract", "PaymentMethod", "TechSupport", "MonthlyCharges"} <= marked
    assert not marked & {"tenure", "TotalCharges", "SupportCalls", *schema.sensitive}
    assert schema.features["Contract"].actionable.direction == "increase"
    assert schema.features["PaymentMethod"].actionable.direction == "any"
    for note in (schema.features[c] for c in marked):
        assert note.actionable.why_text("en") and note.actionable.why_text("fr")


def test_training_carries_actionable_into_the_spec_and_refuses_unseen_categories():
    from training.modeling import feature_specs

    frame = pd.DataFrame({"plan": ["basic", "plus", "basic"], "fee": [10.0, 20.0, 30.0]})
    schema = DatasetSchema.model_validate(
        BASE | {"features": {"plan": {"actionable": {"direction": "increase",
                                                      "allowed": ["basic", "plus"]}},
                             "fee": {"actionable": {"direction": "decrease",
                                                     "max_change": 5}}}})
    specs = {f.name: f for f in feature_specs(frame, schema)}
    assert specs["plan"].actionable.allowed == ["basic", "plus"]
    assert specs["fee"].actionable.max_change == 5
    restored = FeatureSpec.model_validate_json(specs["plan"].model_dump_json())
    assert restored.actionable == specs["plan"].actionable
    bad = DatasetSchema.model_validate(
        BASE | {"features": {"plan": {"actionable": {"allowed": ["basic", "gold"]}}}})
    with pytest.raises(SchemaError, match="gold"):
        feature_specs(frame, bad)


def test_old_specs_without_actionable_still_load():
    spec = FeatureSpec.model_validate({"name": "tenure", "kind": "numeric", "min": 0,
                                       "max": 72})
    assert spec.actionable is None
