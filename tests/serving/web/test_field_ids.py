"""Form fields of any data set's features have ids that HTML and ARIA can reference: an
`aria-describedby` is a space-separated list of ids, so a feature called "Num Of Products"
must not become three of them."""

from __future__ import annotations

import re

from models.spec import CalibrationSpec, DecisionSpec, FeatureSpec, ModelSpec
from serving.web.views import dom_id, field_for

TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def test_a_plain_name_is_its_own_id():
    for name in ["tenure", "Contract", "Support_calls-6m"]:
        assert dom_id(name) == name


def test_any_other_name_becomes_a_distinct_token():
    names = ["Num Of Products", "Num-Of-Products", "Num_Of_Products", "Âge (years)",
             'Is "Active" Member', "Balance, € [EUR]", "a b", "a  b", "a\tb", "Contract: type"]
    ids = [dom_id(n) for n in names]
    assert all(TOKEN.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert dom_id("Num Of Products").startswith("Num-Of-Products-")


def test_every_form_field_carries_its_token_and_posts_under_its_name():
    spec = ModelSpec(
        dataset="d", target="Churn", positive_label="Yes",
        features=[FeatureSpec(name="Num Of Products", kind="numeric", min=1, max=4,
                              integer=True),
                  FeatureSpec(name='Is "Active" Member', kind="categorical",
                              categories=["False", "True"])],
        calibration=CalibrationSpec(method="none"),
        decision=DecisionSpec(contact_fraction=0.2, high_threshold=0.6, medium_threshold=0.3))
    for f in spec.features:
        field = field_for(spec, f.name, "en")
        assert field["name"] == f.name and field["dom"] == dom_id(f.name)
        assert TOKEN.fullmatch(field["dom"])
