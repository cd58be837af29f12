"""An agent in a real browser (headless Debian Chromium): sign in, filter the risk list,
open a customer, claim and complete the retention task."""

from __future__ import annotations

import pytest

from tests.serving.web.conftest import new_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def agent_story(live, page, tmp_path, name: str = "agent") -> None:  # noqa: ANN001
    page.goto(live.url + "/staff/risk")
    # not signed in: the 401 page says what to do and leads to the sign-in form
    assert page.get_by_role("heading", name="Please sign in").is_visible()
    page.get_by_role("link", name="Go to the sign-in page").click()
    page.get_by_label("Staff token").fill(live.tokens["agent"])
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/staff/risk")
    assert page.get_by_role("heading", name="Risk list").is_visible()

    # filter: high band, open tasks; keyboard only (select + Enter on the button)
    page.get_by_label("Risk band").select_option("high")
    page.get_by_label("Retention task").select_option("open")
    page.get_by_role("button", name="Apply filters").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/risk?band=high&task=open")
    rows = page.locator("table.risk tbody tr")
    assert rows.count() > 0
    for band in rows.locator(".band").all_inner_texts():
        assert band == "high"
    for status in rows.locator(".task").all_inner_texts():
        assert status == "open"
    first = rows.first.locator("td").first.inner_text()
    # three reasons in plain words on each row
    assert rows.first.locator(".reasons li").count() == 3
    assert "the estimate" in rows.first.locator(".reasons li").first.inner_text()
    shot(page, tmp_path, f"{name}-risk-list")

    rows.first.get_by_role("link").click()
    assert page.get_by_role("heading", name=f"Customer {first}").is_visible()
    assert page.locator("svg.shap-chart rect").count() >= 5
    assert page.get_by_role("heading", name="Prediction history").is_visible()
    assert page.locator("#task-status").inner_text() == "open"
    page.get_by_role("button", name="Claim this task").click()
    assert "Task claimed" in page.locator(".flash").inner_text()
    assert page.locator("#task-status").inner_text() == "claimed"

    page.get_by_label("retained").check()
    page.get_by_label("Note (optional)").fill("Called; offered a yearly contract.")
    page.get_by_role("button", name="Complete the task").click()
    assert "Task completed" in page.locator(".flash").inner_text()
    assert page.locator("#task-status").inner_text() == "done"
    shot(page, tmp_path, f"{name}-customer-done")

    r = live.api("GET", "/v1/retention-tasks", role="agent", params={"status": "done"})
    done = r.json()["items"]
    assert [t["outcome"] for t in done] == ["retained"]
    assert done[0]["customer_id"] == first


def test_agent_signs_in_filters_claims_and_completes(live, page, tmp_path):  # noqa: ANN001
    agent_story(live, page, tmp_path)


@pytest.mark.postgres
def test_agent_story_on_postgresql(live_pg, page, tmp_path):  # noqa: ANN001
    agent_story(live_pg, page, tmp_path, name="agent-pg")


def test_agent_pages_on_a_phone(live, browser, tmp_path):  # noqa: ANN001
    page = new_page(browser, mobile=True)
    try:
        page.goto(live.url + "/staff/sign-in")
        page.get_by_label("Staff token").fill(live.tokens["agent"])
        page.get_by_label("Staff token").press("Enter")
        page.wait_for_url("**/staff/risk")
        # nothing wider than the screen: the table is stacked into cards
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        shot(page, tmp_path, "agent-phone", full_page=False)
    finally:
        page.context.close()
