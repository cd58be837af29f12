"""Recourse (issue 16), on models trained by the real pipeline on the synthetic data and on
Telco: only actionable features change, every claimed score is the model's own, options
stay in the input domain and follow the monotone constraints, a low customer gets none,
options differ, and the smallest change is found (checked against an independent brute
force)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models import ChurnModel
from models.dataset_schema import DatasetSchema
from models.recourse import Planner, Recourse

REPO = Path(__file__).resolve().parents[2]
TELCO_CSV = REPO.parent / "shared" / "data" / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
SCHEMAS = {"synthetic": REPO / "training" / "datasets" / "synthetic.yaml",
           "telco": REPO / "training" / "datasets" / "telco.yaml"}
ROWS = 500  # customers searched per model


def _fit(factory: pytest.TempPathFactory, which: str) -> ChurnModel:
    """The small model of the real pipeline (no minimisation, 100 trees) trained on `which`,
    as the serving suites register it (trained once per run, tests/artefacts.py)."""
    from tests.artefacts import champion_store, load_champion, telco_champion_store

    store = telco_champion_store if which == "telco" else champion_store
    return load_champion(store(factory, f"recourse-{which}")[1])


def _records(model: ChurnModel, which: str, n: int = ROWS) -> list[dict[str, Any]]:
    names = model.feature_names
    if which == "telco":
        frame = pd.read_csv(TELCO_CSV)
        frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"].str.strip(),
                                              errors="coerce")
        frame = frame.sample(n=n, random_state=1)
    else:
        from training.synthetic import generate

        frame = generate(n, seed=5)
    out = []
    for r in frame.to_dict(orient="records"):
        out.append({k: (None if isinstance(r[k], float) and math.isnan(r[k]) else
                        (r[k].item() if hasattr(r[k], "item") else r[k])) for k in names})
    return out


@pytest.fixture(scope="module", params=["synthetic", "telco"])
def case(request, tmp_path_factory) -> tuple[str, ChurnModel, Planner, list, list[Recourse]]:
    which = request.param
    model = _fit(tmp_path_factory, which)
    planner = Planner(model)
    records = _records(model, which)
    target = model.spec.decision.high_threshold
    return which, model, planner, records, [planner.search(r, target) for r in records]


def test_the_search_finds_options_for_high_risk_customers(case):
    which, model, planner, records, found = case
    statuses = {r.status for r in found}
    assert "options" in statuses and "already_below" in statuses
    assert {lv.feature.name for lv in planner.levers} == {
        c for c, n in DatasetSchema.load(SCHEMAS[which]).features.items()
        if n.actionable is not None and c in model.feature_names}


def test_immutable_and_sensitive_features_never_change(case):
    which, model, planner, records, found = case
    schema = DatasetSchema.load(SCHEMAS[which])
    actionable = {f.name for f in model.spec.features if f.actionable is not None}
    assert not actionable & {"tenure", "TotalCharges", "SupportCalls", *schema.sensitive}
    for record, r in zip(records, found, strict=True):
        for o in r.options:
            changed = {c.feature for c in o.changes}
            assert changed and changed <= actionable
            assert not set(o.values) & set(schema.sensitive)
            for name, value in record.items():  # everything else exactly as it was
                if name not in changed:
                    assert o.values[name] == value or (value is None and o.values[name] is None)


def test_every_option_scores_what_it_claims(case):
    which, model, planner, records, found = case
    checked = 0
    for r in found:
        for o in r.options:
            again = model.explain_records([o.values])
            assert abs(float(again.score[0]) - o.score) <= 1e-9
            assert abs(float(again.margin[0]) - o.margin) <= 1e-9
            for c in o.contributions:
                j = model.feature_names.index(c.feature)
                assert abs(float(again.shap[0, j]) - c.after) <= 1e-9
            if r.status == "options":
                assert o.score < r.target
            else:
                assert o.score < r.score
            checked += 1
    assert checked >= 10


def test_options_stay_in_the_input_domain_bounds_and_directions(case):
    which, model, planner, records, found = case
    encoder = model.encoder
    for r in found:
        for o in r.options:
            encoder.check(o.values)  # no out-of-range number, unseen category, fraction
            for c in o.changes:
                f = model.spec.feature(c.feature)
                act = f.actionable
                if f.kind == "numeric":
                    lo, hi = f.valid_range()
                    assert lo <= c.after <= hi
                    if act.max_change is not None:
                        assert abs(c.after - c.before) <= act.max_change + 1e-9
                    if act.direction == "decrease":
                        assert c.after < c.before
                    if f.integer:
                        assert float(c.after).is_integer()
                    continue
                assert c.after in f.categories
                if act.allowed:
                    assert c.before in act.allowed and c.after in act.allowed
                order = f.categories if f.kind == "ordinal" else act.allowed
                if act.direction == "increase":
                    assert order.index(c.after) > order.index(c.before)


def test_monotone_constraints_are_respected(case):
    """A monotone feature only moves the way that lowers the risk, and alone that move
    never raises the model's score."""
    which, model, planner, records, found = case
    monotone = {f.name: f for f in model.spec.features if f.monotone}
    seen = 0
    for r in found:
        for o in r.options:
            for c in o.changes:
                f = monotone.get(c.feature)
                if f is None:
                    continue
                step = (c.after - c.before if f.kind == "numeric"
                        else f.categories.index(c.after) - f.categories.index(c.before))
                assert step * f.monotone < 0  # decreasing: up; increasing: down
                alone = {**{k: v for k, v in o.values.items()},
                         **{x.feature: x.before for x in o.changes if x.feature != c.feature}}
                assert float(model.explain_records([alone]).score[0]) <= r.score + 1e-12
                seen += 1
    assert seen, "no option moved a monotone feature (Contract should)"


def test_a_customer_already_low_gets_no_option(case):
    which, model, planner, records, found = case
    low = [r for r in found if r.score < r.target]
    assert low and all(r.status == "already_below" and not r.options for r in low)
    assert all(r.status != "already_below" for r in found if r.score >= r.target)


def test_options_are_diverse(case):
    which, model, planner, records, found = case
    for r in found:
        sets = [frozenset(c.feature for c in o.changes) for o in r.options]
        assert len(set(sets)) == len(sets), "two options change the same features"
        for a, b in itertools.permutations(r.options, 2):
            pa = {(c.feature, c.after) for c in a.changes}
            pb = {(c.feature, c.after) for c in b.changes}
            assert not pa < pb, "an option is another one plus more changes"


def test_fewest_changes_first_against_a_brute_force(case):
    """Independently of the search: try every single change on a dense grid (each allowed
    category; numbers every whole unit in the lever's window). If one reaches below the
    target, the first option changes one feature, and is at least as small."""
    which, model, planner, records, found = case
    compared = 0
    for record, r in zip(records, found, strict=True):
        if r.status not in ("options", "lowers_only"):
            continue
        singles = []
        for lever in planner.levers:
            f, act = lever.feature, lever.feature.actionable
            now = record[f.name]
            if now is None:
                continue
            if f.kind == "numeric":
                lo, hi = f.valid_range()
                if act.max_change:
                    lo, hi = max(lo, now - act.max_change), min(hi, now + act.max_change)
                grid = np.arange(math.ceil(lo), math.floor(hi) + 1, 1.0)
                values = [float(v) for v in grid if v != now and (
                    lever.direction == "any" or (v > now) == (lever.direction == "increase"))]
            else:
                allowed = act.allowed or f.categories
                if now not in allowed:
                    continue
                order = f.categories if f.kind == "ordinal" else allowed
                values = [v for v in allowed if v != now and (
                    lever.direction == "any"
                    or (order.index(v) > order.index(now)) == (lever.direction == "increase"))]
            singles += [{**record, f.name: v} for v in values]
        if not singles:
            continue
        scores = model.explain_records(singles).score
        if r.status == "options" and (scores < r.target).any():
            assert len(r.options[0].changes) == 1
        if r.status == "lowers_only":
            assert not (scores < r.target).any()
        compared += 1
    assert compared >= 5


def test_nothing_actionable_means_no_option_said_plainly(case):
    which, model, planner, records, found = case
    spec = model.spec.model_copy(deep=True)
    for f in spec.features:
        f.actionable = None
    frozen = ChurnModel.from_parts(model.booster, spec)
    high = next(rec for rec, r in zip(records, found, strict=True) if r.status == "options")
    r = Planner(frozen).search(high, spec.decision.high_threshold)
    assert r.status == "no_levers" and not r.options and r.candidates == 0
    # levers, but none this record lets move: on a two-year contract already
    only_contract = model.spec.model_copy(deep=True)
    for f in only_contract.features:
        if f.name != "Contract":
            f.actionable = None
    settled = {**high, "Contract": "Two year"}
    r = Planner(ChurnModel.from_parts(model.booster, only_contract)).search(settled, 1e-9)
    assert r.status == "none" and not r.options and r.levers == []


def test_when_nothing_reaches_the_target_the_largest_decreases_are_offered(case):
    which, model, planner, records, found = case
    high = next(rec for rec, r in zip(records, found, strict=True) if r.status == "options")
    r = planner.search(high, 1e-6)
    assert r.status == "lowers_only" and r.options
    assert all(o.score < r.score for o in r.options)
    every = planner.grid(planner.encoder.encode_records([high])[0])[0]
    best = float(model.explain(every).score.min())
    assert abs(r.options[0].score - best) <= 1e-9


def test_words_in_english_and_french(case):
    which, model, planner, records, found = case
    high = next(rec for rec, r in zip(records, found, strict=True) if r.status == "options")
    en = planner.search(high, model.spec.decision.high_threshold, "en")
    fr = planner.search(high, model.spec.decision.high_threshold, "fr")
    assert [o.score for o in en.options] == [o.score for o in fr.options]
    c_en, c_fr = en.options[0].changes[0], fr.options[0].changes[0]
    assert " from " in c_en.text and " to " in c_en.text
    assert " : de " in c_fr.text and " à " in c_fr.text
    assert c_en.text != c_fr.text
    feature = model.spec.feature(c_en.feature)
    assert c_en.why == feature.actionable.why_text("en") and c_fr.why == \
        feature.actionable.why_text("fr") and c_en.why != c_fr.why


def _any_record(model: ChurnModel):  # noqa: ANN202 - a hypothesis strategy
    """Any record the model accepts: every value of its input domain, missing ones too."""
    from hypothesis import strategies as st

    fields = {}
    for f in model.spec.features:
        if f.kind == "numeric":
            lo, hi = f.valid_range()
            value = (st.integers(int(math.ceil(lo)), int(math.floor(hi))).map(float)
                     if f.integer else st.floats(lo, hi, allow_nan=False))
        else:
            value = st.sampled_from(f.categories)
        fields[f.name] = st.one_of(st.none(), value) if f.nullable else value
    return st.fixed_dictionaries(fields)


def test_any_record_of_the_input_domain(case):
    """Beyond the data: records anywhere in the input domain (its edges, missing values)
    only ever get options that change actionable features the permitted way, stay in the
    domain and score exactly what they claim."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings

    which, model, planner, records, found = case
    target = model.spec.decision.high_threshold

    @hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_any_record(model))
    def check(record: dict[str, Any]) -> None:
        r = planner.search(record, target)
        assert (r.status == "already_below") == (r.score < target)
        for o in r.options:
            model.encoder.check(o.values)
            again = model.explain_records([o.values])
            assert abs(float(again.score[0]) - o.score) <= 1e-9
            assert o.score < (target if r.status == "options" else r.score)
            for c in o.changes:
                f = model.spec.feature(c.feature)
                assert f.actionable is not None and c.before is not None
                if f.kind == "numeric" and f.actionable.max_change is not None:
                    assert abs(c.after - c.before) <= f.actionable.max_change + 1e-9
                if f.monotone and f.kind != "categorical":
                    up = (c.after > c.before if f.kind == "numeric"
                          else f.categories.index(c.after) > f.categories.index(c.before))
                    assert up == (f.monotone < 0)
            for name, value in record.items():
                if name not in {c.feature for c in o.changes}:
                    assert o.values[name] == value

    check()
