"""`models.uplift.encode`, the one encoding the uplift model's training and serving share
(issue 17): each category its index in the spec, anything else NaN; numbers as floats. Online
scoring encodes one row at a time, so it must stay cheap."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from models.spec import FeatureSpec
from models.uplift import UpliftSpec, encode, encode_records

SPEC = UpliftSpec(features=[
    FeatureSpec(name="Contract", kind="categorical",
                categories=["Month-to-month", "One year", "Two year"]),
    FeatureSpec(name="tenure", kind="numeric"),
    FeatureSpec(name="Level", kind="ordinal", categories=["1", "2", "3"]),
])


def test_categories_are_their_index_and_anything_else_is_missing():
    frame = pd.DataFrame({
        "Contract": ["Two year", "Month-to-month", None, "Weekly", float("nan"), "One year"],
        "tenure": [1, "12", None, "n/a", 3.5, 0],
        "Level": ["3", "1", "2", None, "4", "2"],
    })
    X = encode(SPEC, frame)
    expected = np.array([[2, 1, 2], [0, 12, 0], [np.nan, np.nan, 1], [np.nan, np.nan, np.nan],
                         [np.nan, 3.5, np.nan], [1, 0, 1]], dtype=float)
    assert np.array_equal(X, expected, equal_nan=True)
    # serving's records (a receipt's values) give the very same matrix
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
               for r in frame.to_dict(orient="records")]
    assert np.array_equal(encode_records(SPEC, records), expected, equal_nan=True)


def test_one_row_is_encoded_in_well_under_a_millisecond_per_feature():
    record = {"Contract": "One year", "tenure": 4, "Level": "2"}
    row = pd.DataFrame([record])
    assert np.array_equal(encode(SPEC, row), encode_records(SPEC, [record]))
    started = time.perf_counter()
    for _ in range(200):
        encode(SPEC, row)
    per_row_ms = (time.perf_counter() - started) / 200 * 1000
    # pd.Categorical per feature took about 5 ms each on this machine; a dict lookup, tens
    # of microseconds (a generous bound for a loaded machine)
    assert per_row_ms < 3 * len(SPEC.features), per_row_ms


def test_records_and_frames_agree_on_the_simulated_world():
    """Training encodes a frame, serving records: on the world's customers (missing
    values, an unseen category) both give the same matrix."""
    from simulation.world import World, WorldConfig
    from training.uplift import feature_specs

    frame = World(WorldConfig(customers=2000, seed=4, drift_period=None)).scoring_frame()
    frame = frame.drop(columns=["customer_id"]).astype(object)
    frame.loc[frame.index[::7], "Contract"] = None
    frame.loc[frame.index[::11], "PaymentMethod"] = "Bitcoin"
    frame.loc[frame.index[::13], "tenure"] = None
    spec = UpliftSpec(features=feature_specs(frame))
    records = frame.to_dict(orient="records")
    assert np.array_equal(encode(spec, frame), encode_records(spec, records), equal_nan=True)
