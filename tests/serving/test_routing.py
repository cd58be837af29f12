"""Risk bands and routing are pure functions: a person, or nothing."""

import numpy as np
import pytest

from serving.routing import ACTIONS, Thresholds, risk_band, route, route_many, routes

T = Thresholds(high=0.6, medium=0.3, review_margin=0.05)


@pytest.mark.parametrize(
    ("score", "band"),
    [(0.0, "low"), (0.2999, "low"), (0.3, "medium"), (0.5999, "medium"), (0.6, "high"),
     (1.0, "high")],
)
def test_band_edges(score, band):
    assert risk_band(score, T) == band


def test_high_goes_to_a_person_with_the_reason():
    r = route(0.8, T)
    assert r.action == "human_contact"
    assert "0.80" in r.reason and "0.60" in r.reason and "agent" in r.reason


def test_near_the_threshold_goes_to_a_person_too():
    r = route(0.56, T)
    assert risk_band(0.56, T) == "medium"
    assert r.action == "human_contact"
    assert "margin" in r.reason


def test_below_the_margin_nothing_happens():
    assert route(0.549, T).action == "none"
    assert route(0.1, T).action == "none"


def test_no_margin_means_only_high():
    t = Thresholds(high=0.6, medium=0.3, review_margin=0.0)
    assert route(0.5999, t).action == "none"
    assert route(0.6, t).action == "human_contact"


def test_restricted_record_is_never_routed():
    r = route(0.99, T, restricted=True)
    assert r.action == "none"
    assert "restricted" in r.reason


@pytest.mark.parametrize("score", np.linspace(0, 1, 101).tolist())
def test_only_two_actions_exist(score):
    assert route(score, T).action in ACTIONS == ("human_contact", "none")


def test_vectorised_routes_agree_with_route():
    scores = np.linspace(0, 1, 1001)
    bands, human, near = routes(scores, T)
    for s, b, h, n in zip(scores, bands, human, near, strict=True):
        assert b == risk_band(float(s), T)
        assert bool(h) == (route(float(s), T).action == "human_contact")
        assert bool(n) == (b != "high" and bool(h))


@pytest.mark.parametrize(
    "kwargs",
    [dict(high=0.3, medium=0.6), dict(high=1.2, medium=0.1), dict(high=0.5, medium=-0.1),
     dict(high=0.5, medium=0.1, review_margin=0.9)],
)
def test_bad_thresholds_refused(kwargs):
    with pytest.raises(ValueError):
        Thresholds(**kwargs)


@pytest.mark.parametrize("t", [T, Thresholds(high=0.6, medium=0.3)])
def test_route_many_gives_exactly_the_routes_of_route(t):
    rng = np.random.default_rng(3)
    # random scores plus the edges and values that round across two decimals
    scores = [*rng.random(5000).tolist(), 0.0, 1.0, 0.55, 0.5499999, 0.6, 0.5999999,
              0.005, 0.015, 0.125, 0.994999, 0.995]
    assert route_many(scores, t) == [route(s, t) for s in scores]
