"""The built-in synthetic data: seeded, realistic columns, a learnable but noisy mechanism."""

from __future__ import annotations

import pandas as pd

from models.dataset_schema import DatasetSchema
from training.synthetic import SCHEMA_PATH, generate


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = generate(500, seed=1), generate(500, seed=1), generate(500, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_columns_match_schema_and_are_plausible():
    frame = generate(5000, seed=0)
    schema = DatasetSchema.load(SCHEMA_PATH)
    for column in [schema.id_column, schema.target.column, *schema.sensitive, *schema.features]:
        assert column in frame.columns
    assert frame["customer_id"].is_unique
    assert frame["tenure"].between(0, 72).all()
    assert frame["MonthlyCharges"].between(18, 120).all()
    assert frame.loc[frame["tenure"] == 0, "TotalCharges"].isna().all()
    rate = (frame["Churn"] == "Yes").mean()
    assert 0.15 < rate < 0.45
    by_contract = frame.groupby("Contract")["Churn"].apply(lambda s: (s == "Yes").mean())
    assert by_contract["Month-to-month"] > by_contract["One year"] > by_contract["Two year"]


def test_every_feature_is_labelled_in_both_languages():
    schema = DatasetSchema.load(SCHEMA_PATH)
    for name, note in schema.features.items():
        assert note.label is not None, name
        assert note.label.en and note.label.fr, name
