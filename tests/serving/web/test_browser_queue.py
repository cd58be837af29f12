"""A retention team works its queue in a real browser (headless Debian Chromium), pages
server-rendered, forms without JavaScript: search by customer id, sort, counts, my tasks,
contact attempts, release and reassign, and the customer's own voice (a rectified dispute)
seen by the agent before calling. Screenshots go to /tmp (CHURN_SHOTS_DIR to change)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import other_value
from tests.serving.web.conftest import new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(os.environ.get("CHURN_SHOTS_DIR", "/tmp"))
PREFIX = [""]  # the story's screenshot prefix (SQLite: none, PostgreSQL: "pg-")


def _shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(SHOTS / f"queue-{PREFIX[0]}{name}.png"), full_page=True)


def _rectified(live, host, prediction) -> str:  # noqa: ANN001
    """The customer contests a factor and writes a statement; a reviewer rectifies it."""
    link = live.access_link(prediction["customer_id"])
    session = httpx.post(live.url + "/v1/sessions", json={"link": link["token"]}, timeout=30)
    assert session.status_code == 201, session.text
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    spec = host.current().spec
    full = httpx.get(live.url + f"/v1/predictions/{prediction['prediction_id']}",
                     headers=headers, timeout=30).json()
    factor = full["contributions"][0]
    claimed = other_value(spec.feature(factor["feature"]), factor["value"])
    r = httpx.post(live.url + "/v1/disputes", headers=headers, timeout=30, json={
        "prediction_id": prediction["prediction_id"],
        "contested_features": [{"feature": factor["feature"], "claimed_value": claimed}],
        "statement": "je n'ai aucune intention de partir", "wants_human_review": True})
    assert r.status_code == 201, r.text
    dispute_id = r.json()["dispute_id"]
    d = live.api("POST", f"/v1/disputes/{dispute_id}/decision", role="reviewer", json={
        "decision": "rectified", "rationale": "The customer's contract record was out of date.",
        "corrected_features": {factor["feature"]: claimed}})
    assert d.status_code in (200, 201), d.text
    return dispute_id


def test_an_agent_works_the_queue(live, browser, host):  # noqa: ANN001
    queue_story(live, browser, host)


@pytest.mark.postgres
def test_an_agent_works_the_queue_on_postgresql(live_pg, browser, host):  # noqa: ANN001
    queue_story(live_pg, browser, host, "pg-")


def queue_story(live, browser, host, prefix: str = "") -> None:  # noqa: ANN001
    PREFIX[0] = prefix
    second = live.api("POST", "/v1/admin/users", json={"name": "Bea Second", "role": "agent"})
    assert second.status_code == 201, second.text
    with_task = live.with_task()
    assert len(with_task) >= 3
    target, voiced = with_task[0], with_task[1]
    _rectified(live, host, voiced)

    page = new_page(browser)
    try:
        page.goto(live.url + "/staff/sign-in")
        page.get_by_label("Staff token").fill(live.tokens["agent"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/staff/risk")

        # counts by band and status
        counts = page.locator("#counts").inner_text()
        assert "open tasks" in counts and "overdue" in counts and "my tasks: 0" in counts
        assert page.locator("#count-high td").count() == 2
        assert page.locator("#sort-rule").inner_text().startswith("Highest score first")

        _shot(page, "risk-list")
        # the customer's voice on the risk list: a rectified customer is marked (on
        # whichever page their new score puts them)
        row = page.locator("table.risk tbody tr", has_text=voiced["customer_id"])
        for _ in range(8):
            if row.count():
                break
            page.get_by_role("link", name="Next page").click()
        assert "data rectified" in row.locator(".voice-rectified").inner_text()
        row.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"queue-{prefix}risk-voice-row.png"))
        page.goto(live.url + "/staff/risk")

        # search: a malformed id, an unknown one, then a real one
        page.get_by_label("Find a customer by their id").fill("bad/id")
        page.get_by_role("button", name="Find").click()
        assert "This is not a customer id" in page.locator("#search-message").inner_text()
        page.get_by_label("Find a customer by their id").fill("NOBODY-404")
        page.get_by_role("button", name="Find").click()
        assert "No customer with the id “NOBODY-404”" in page.locator(
            "#search-message").inner_text()
        _shot(page, "search-unknown")
        page.get_by_label("Find a customer by their id").fill(target["customer_id"])
        page.get_by_role("button", name="Find").click()
        assert page.get_by_role("heading", name=f"Customer {target['customer_id']}").is_visible()

        # claim, then two contact attempts; the outcome stays to be recorded
        assert "due" in page.locator("#task-due").inner_text()
        assert page.locator("#last-contact").inner_text() == "never contacted"
        page.get_by_role("button", name="Claim this task").click()
        page.get_by_label("Channel").select_option("phone")
        page.get_by_label("Note on this attempt (optional)").fill("Voicemail; will try again.")
        page.get_by_role("button", name="Record the attempt").click()
        assert "Attempt by phone recorded" in page.locator(".flash").inner_text()
        page.get_by_label("Channel").select_option("email")
        page.get_by_label("The customer was reached").check()
        page.get_by_role("button", name="Record the attempt").click()
        attempts = page.locator("ol.attempts li").all_inner_texts()
        assert len(attempts) == 2 and "phone" in attempts[0] and "not reached" in attempts[0]
        assert "Voicemail; will try again." in attempts[0] and "reached" in attempts[1]
        assert page.locator("#task-status").inner_text() == "claimed"
        assert page.locator("#last-contact").inner_text().startswith("last contact")
        _shot(page, "attempts")

        # my tasks, on the risk list
        page.goto(live.url + "/staff/risk")
        assert "my tasks: 1" in page.locator("#counts").inner_text()
        page.locator("#mine-link").click()
        page.wait_for_url("**mine=1**")
        mine = page.locator("table.risk tbody tr")
        assert mine.count() == 1 and target["customer_id"] in mine.first.inner_text()
        # contacted recently: sorted by score, the customer is listed after the others
        page.goto(live.url + "/staff/risk")
        firsts = page.locator("table.risk tbody tr td:first-child a").all_inner_texts()
        assert target["customer_id"] not in firsts[:3]

        # sorts are links (no script): due date, last contact
        page.locator("#sort-due").click()
        page.wait_for_url("**sort=due**")
        assert page.locator("#sort-due").get_attribute("aria-current") == "true"
        assert "soonest due first" in page.locator("#sort-rule").inner_text()
        dues = page.locator("table.risk tbody tr .due").all_inner_texts()
        assert dues and all(d.startswith("due") for d in dues)
        page.locator("#sort-last_contact").click()
        page.wait_for_url("**sort=last_contact**")
        contacts = page.locator("table.risk tbody tr .contact").all_inner_texts()
        never = [c == "never contacted" for c in contacts]
        assert never[0] and never == sorted(never, reverse=True)  # never contacted first
        scores = [float(x.split()[0]) for x in page.locator(
            "table.risk tbody tr td.num").all_inner_texts()]
        assert scores == sorted(scores, reverse=True)  # then the highest risk first
        # the one customer contacted comes after every customer never contacted
        while page.get_by_role("link", name="Next page").count():
            page.get_by_role("link", name="Next page").click()
        last = page.locator("table.risk tbody tr").last
        assert target["customer_id"] in last.inner_text()
        assert last.locator(".contact").inner_text().startswith("last contact")
        _shot(page, "sorted-last-contact")

        # release, then claim again and hand the task to the second agent
        page.goto(live.url + f"/staff/customers/{target['customer_ref']}")
        page.get_by_role("button", name="Give the task back to the queue").click()
        assert "back in the queue" in page.locator(".flash").inner_text()
        assert page.locator("#task-status").inner_text() == "open"
        page.get_by_role("button", name="Claim this task").click()
        page.get_by_label("Hand the task to").select_option(label="Bea Second")
        page.get_by_role("button", name="Reassign").click()
        assert "now Bea Second's" in page.locator(".flash").inner_text()
        assert "Bea Second" in page.locator("#task-status").locator("..").inner_text()
        # no longer theirs: no attempt, release or reassign form for the first agent
        assert page.get_by_role("button", name="Record the attempt").count() == 0
        assert page.get_by_role("button", name="Reassign").count() == 0
        _shot(page, "reassigned")

        # the rectified customer's page: the mark, their words, the reviewer's reason
        page.goto(live.url + f"/staff/customers/{voiced['customer_ref']}")
        assert "rectified after a dispute" in page.locator("#voice-mark").inner_text()
        voice = page.locator("#voice")
        assert "je n'ai aucune intention de partir" in voice.locator(".statement").inner_text()
        assert "out of date" in voice.locator(".rationale").inner_text()
        _shot(page, "customer-voice")
    finally:
        page.context.close()

    tasks = live.api("GET", "/v1/retention-tasks", role="agent",
                     params={"status": "claimed", "customer_id": target["customer_id"]})
    (task,) = tasks.json()["items"]
    assert task["claimed_by"] == f"staff:{second.json()['user_id']}"
    assert [a["channel"] for a in task["attempts"]] == ["phone", "email"]
