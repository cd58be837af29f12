"""The targeting rule, pure (issue 17): one function decides, for every path, who of the
customers drawn into an arm gets a task under uplift targeting and what their call is
worth; an agent reads the same route for both arms of the control draw."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from serving.config import Settings
from serving.loop.control import CAMPAIGN, HELD_OUT, ControlPlan, agent_route, arm_key
from serving.loop.targeting import (
    NOT_WORTH,
    customer_values,
    decide,
    rule_statement,
    target,
)
from serving.storage.receipts import PredictionRow, TaskRow

WHEN = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _row(pid: str, arm: str | None, action: str = "human_contact",
         targeting: str = "uplift") -> PredictionRow:
    return PredictionRow(pid, f"ref-{pid}", "churn", "1", 0.8, 1.2, -1.0, "high", "{}", b"",
                         action, "High risk", "batch", "batch", False, "t", "c", arm,
                         targeting)


def _task(pid: str) -> TaskRow:
    return TaskRow(f"task-{pid}", f"ref-{pid}", pid, 0.8, "High risk", "t")


def test_value_rule_queues_only_calls_worth_their_cost():
    rows = [_row("a", "contact"), _row("b", "contact"), _row("c", "contact"),
            _row("d", "control", action=HELD_OUT.action), _row("e", None, action="none")]
    tasks = [_task("a"), _task("b"), _task("c")]
    uplift = {"a": 0.20, "b": -0.05, "c": 0.02, "d": 0.30}
    # a's own value is known (1,000); the others take the default (300); a call costs 10
    out, left = decide(rows, tasks, uplift, {"a": 1000.0}, 300.0, 10.0)
    by = {r.id: r for r in out}
    assert by["a"].expected_value == pytest.approx(0.20 * 1000 - 10)
    assert by["a"].customer_value == 1000.0 and by["a"].route_action == "human_contact"
    # contact estimated to push b away: not queued, and the receipt says why
    assert by["b"].expected_value == pytest.approx(-0.05 * 300 - 10)
    assert (by["b"].route_action, by["b"].route_reason) == (NOT_WORTH.action, NOT_WORTH.reason)
    # c helps a little, not enough to pay for the call (0.02 x 300 = 6 < 10)
    assert by["c"].expected_value == pytest.approx(-4.0)
    assert by["c"].route_action == "none"
    # the held-out receipt records its estimate (the model is evaluated on it) and keeps
    # its route; a receipt outside the arms gets nothing
    assert by["d"].expected_value == pytest.approx(80.0) and by["d"].route_action == "none"
    assert by["d"].route_reason == "High risk"
    assert (by["e"].uplift, by["e"].expected_value, by["e"].customer_value) == (None,) * 3
    assert all(r.targeting == "uplift" for r in out)
    # the tasks left carry their expected value: the queue's order
    assert [(t.prediction_id, t.expected_value) for t in left] == [("a", pytest.approx(190.0))]


def test_no_uplift_estimate_records_the_rule_actually_applied():
    rows = [_row("a", "contact"), _row("b", "control", action="none")]
    out, left = decide(rows, [_task("a")], None, {}, 300.0, 10.0)
    assert [r.targeting for r in out] == ["risk", "risk"]
    assert [r.route_action for r in out] == ["human_contact", "none"]
    assert [t.prediction_id for t in left] == ["a"] and left[0].expected_value is None


def test_a_value_at_zero_is_not_worth_a_call_and_a_free_call_with_any_help_is():
    rows = [_row("a", "contact"), _row("b", "contact")]
    out, left = decide(rows, [_task("a"), _task("b")], {"a": 0.1, "b": 0.001}, {}, 100.0, 10.0)
    assert [r.route_action for r in out] == ["none", "none"]  # 0.1 x 100 - 10 = 0: not above
    out, left = decide(rows, [_task("a"), _task("b")], {"a": 0.1, "b": 0.001}, {}, 100.0, 0.0)
    assert [t.prediction_id for t in left] == ["a", "b"]


def test_target_draws_then_applies_the_value_rule():
    """`target`, which every path calls: the draw first (a held-out receipt never opens a
    task whatever its value), then the rule on the contact arm."""
    plan = ControlPlan(fraction=0.5, key=arm_key("k"), targeting="uplift")
    rows = [_row(f"p{i}", None, targeting="risk")._replace(customer_ref=f"c{i}")
            for i in range(40)]
    tasks = [_task(r.id)._replace(customer_ref=r.customer_ref) for r in rows]
    estimates = {r.id: (0.5 if i % 2 else -0.5) for i, r in enumerate(rows)}

    class Plan:  # what `target` reads of an uplift plan, without a model
        customer_value, contact_cost = 300.0, 10.0

    out, left = target(plan, Plan(), rows, tasks, WHEN, {}, estimates)  # type: ignore[arg-type]
    arms = {r.id: r.arm for r in out}
    assert set(arms.values()) == {"contact", "control"}
    assert {r.id: plan.arm(r.customer_ref, WHEN) for r in out} == arms
    queued = {t.prediction_id for t in left}
    assert queued == {r.id for r in out if r.arm == "contact" and estimates[r.id] > 0}
    assert all(r.route_reason == HELD_OUT.reason for r in out if r.arm == "control")
    # risk targeting: the draw alone, no estimate recorded
    risk = ControlPlan(fraction=0.5, key=arm_key("k"), targeting="risk")
    out, left = target(risk, Plan(), rows, tasks, WHEN, {}, estimates)  # type: ignore[arg-type]
    assert all(r.uplift is None and r.targeting == "risk" for r in out)
    assert {t.prediction_id for t in left} == {r.id for r in out if r.arm == "contact"}


def test_a_customer_carrying_an_earlier_periods_task_is_neither_drawn_nor_valued():
    """`target` with `carried`: those customers' receipts get no arm and keep their route
    and task, under uplift targeting too (the value rule only reads drawn receipts, and
    their estimate, even a harmful one, is not asked for); the others as without them."""
    plan = ControlPlan(fraction=0.5, key=arm_key("k"), targeting="uplift")
    rows = [_row(f"p{i}", None, targeting="risk")._replace(customer_ref=f"c{i}")
            for i in range(40)]
    tasks = [_task(r.id)._replace(customer_ref=r.customer_ref) for r in rows]
    estimates = {r.id: (0.5 if i % 2 else -0.5) for i, r in enumerate(rows)}
    carried = frozenset(f"c{i}" for i in range(0, 40, 4))

    class Plan:
        customer_value, contact_cost = 300.0, 10.0

    before, before_left = target(plan, Plan(), rows, tasks, WHEN, {}, estimates)  # type: ignore[arg-type]
    out, left = target(plan, Plan(), rows, tasks, WHEN, {}, estimates,  # type: ignore[arg-type]
                       carried=carried)
    assert {r.arm for r in before if r.customer_ref in carried} == {"contact", "control"}
    for old, new in zip(before, out, strict=True):
        if new.customer_ref in carried:
            assert new.arm is None and new.route_action == "human_contact"
            assert (new.uplift, new.customer_value, new.expected_value) == (None, None, None)
        else:
            assert new == old
    assert {t.customer_ref for t in left} == (
        {t.customer_ref for t in before_left} | carried)
    assert all(t.expected_value is None for t in left if t.customer_ref in carried)


def test_customer_values_from_a_file_column_or_a_request():
    values, bad = customer_values([120, "75.5", None, math.nan, -3, "n/a", math.inf, 0])
    assert values == [120.0, 75.5, None, None, None, None, None, 0.0]
    assert bad == 3  # -3, "n/a", inf: present but not a value (the default applies)


def test_agents_read_one_route_for_both_arms():
    assert agent_route("none", HELD_OUT.reason, "control", 0.1) == CAMPAIGN
    assert agent_route("human_contact", "High risk", "contact", 0.1) == CAMPAIGN
    assert agent_route("none", NOT_WORTH.reason, "contact", 0.1) == CAMPAIGN
    # without a control group nothing is hidden: the receipt's own route
    assert agent_route("human_contact", "High risk", "contact", 0.0).reason == "High risk"
    # a receipt held out under an earlier setting stays hidden
    assert agent_route("none", HELD_OUT.reason, "control", 0.0) == CAMPAIGN
    assert agent_route("none", "Low", None, 0.1).reason == "Low"
    # the words are honest for both arms and never name the arm
    low = CAMPAIGN.reason.lower()
    assert "control" not in low and "held out" not in low
    assert "some of the campaign's customers" in low and "only the customers who" in low


def test_the_rule_in_words():
    class Plan:
        uri, version, customer_value, contact_cost = "models:/churn-uplift@champion", "3", 300, 10

    text = rule_statement("uplift", Plan(), 0.1)  # type: ignore[arg-type]
    assert "Uplift targeting" in text and "(v3)" in text and "10%" in text
    assert "push away are not queued" in text
    assert rule_statement("uplift", None, 0.0).startswith("Risk targeting: CHURN_TARGETING")
    assert "no control group" in rule_statement("risk", None, 0.0)


@pytest.mark.parametrize(("var", "value"), [("customer_value", 0), ("customer_value", -5),
                                            ("customer_value", math.nan),
                                            ("contact_cost", -1), ("contact_cost", math.inf),
                                            ("contact_cost", 2e9)])
def test_amounts_are_checked_at_start_naming_the_variable(var, value):
    with pytest.raises(ValidationError) as err:
        Settings(**{var: value})
    text = str(err.value)
    assert f"CHURN_{var.upper()}" in text and "expected a number" in text
    assert f"CHURN_{var.upper()}={Settings.model_fields[var].default:g}" in text  # the fix
    assert Settings(contact_cost=0).contact_cost == 0  # a free call is allowed


@pytest.mark.parametrize("value", ["true", "false", '"12.5"', "-1", "1e10"])
def test_a_requests_customer_value_is_a_plain_number_in_range(value):
    """JSON true/false or a quoted number is not a value (pydantic's lax mode would read
    true as 1.0): the API refuses what its schema says is not a number (found by the fuzz)."""
    from serving.scoring.schemas import ScoreRequest

    body = f'{{"customer_id": "C-1", "features": {{}}, "customer_value": {value}}}'
    with pytest.raises(ValidationError, match="customer_value"):
        ScoreRequest.model_validate_json(body)
    ok = ScoreRequest.model_validate_json(body.replace(value, "12"))
    assert ok.customer_value == 12.0
