"""The recourse panels in a real browser (headless Debian Chromium), issue 16: "What would
lower this risk" on the agent's customer page, "What would change this estimate" on the
customer's own page, in English and French, without JavaScript, and on a 414 px phone.
The figures shown are those of GET /v1/customers/{id}/recourse."""

from __future__ import annotations

import re
from typing import Any

import pytest

from models.wording import shown_percent
from tests.serving.web.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _context(browser: Any, locale: str = "en-GB", width: int = 1280, js: bool = True) -> Any:
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900},
                                  java_script_enabled=js)
    context.set_default_timeout(10_000)
    return context


def _sign_in(page: Any, live: Any, role: str = "agent") -> None:
    page.goto(live.url + "/staff/sign-in")
    page.get_by_label("Staff token").fill(live.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/**")


def _with_options(live: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A high-risk customer whose recourse has options, and that recourse (API)."""
    for p in live.high():
        r = live.api("GET", f"/v1/customers/{p['customer_id']}/recourse", role="agent")
        assert r.status_code == 200, r.text
        if r.json()["status"] == "options":
            return p, r.json()
    raise AssertionError("no high-risk customer with options among the seeded ones")


def test_agent_sees_what_would_lower_the_risk(live, browser, tmp_path):  # noqa: ANN001
    p, expected = _with_options(live)
    context = _context(browser)
    try:
        page = context.new_page()
        _sign_in(page, live)
        page.goto(f"{live.url}/staff/customers/{p['customer_ref']}")
        panel = page.locator("#recourse")
        assert panel.get_by_role("heading", name="What would lower this risk").is_visible()
        assert "below the high-risk band" in page.locator("#rc-status").inner_text()
        options = panel.locator("li.rc-option")
        assert options.count() == len(expected["options"]) >= 1
        for i, o in enumerate(expected["options"]):
            item = options.nth(i)
            heading = item.locator("h3").inner_text()
            assert shown_percent(o["score"], "en") in heading
            assert o["risk_band"] in heading
            changes = item.locator(".rc-changes li").all_inner_texts()
            assert changes == [f"{c['text']} ({c['why']})" if c["why"] else c["text"]
                               for c in o["changes"]]
            assert all(c["why"] for c in o["changes"])  # the built-in schema gives each
            reasons = item.locator(".rc-reasons li").all_inner_texts()
            assert len(reasons) == len(o["contributions"])
            # worded before → after, never as log-odds
            assert all("→" in r and not re.search(r"[+−-]\d+[.,]\d", r) for r in reasons)
        assert "+" not in panel.inner_text().replace("→", "")
        shot(page, tmp_path, "recourse-agent-en")
        panel.screenshot(path=str(tmp_path / "recourse-agent-panel-en.png"))
        page.goto(f"{live.url}/staff/customers/{p['customer_ref']}?lang=fr")
        assert page.get_by_role("heading", name="Ce qui ferait baisser ce risque").is_visible()
        fr_changes = page.locator("#recourse li.rc-option").first.locator(
            ".rc-changes li").all_inner_texts()
        assert all(" : de " in c for c in fr_changes)
        assert all(c.endswith(")") for c in fr_changes)  # the French reason
        shot(page, tmp_path, "recourse-agent-fr")
        # a low customer: no option, said plainly
        low = next(x for x in live.scored if x["risk_band"] == "low")
        page.goto(f"{live.url}/staff/customers/{low['customer_ref']}?lang=en")
        assert "already below the high-risk band" in page.locator("#rc-status").inner_text()
        assert page.locator("#recourse li.rc-option").count() == 0
    finally:
        context.close()


def test_the_agent_panel_works_without_javascript(live, browser, tmp_path):  # noqa: ANN001
    p, expected = _with_options(live)
    context = _context(browser, js=False)
    try:
        page = context.new_page()
        _sign_in(page, live)
        page.goto(f"{live.url}/staff/customers/{p['customer_ref']}")
        assert page.locator("#recourse li.rc-option").count() == len(expected["options"])
    finally:
        context.close()


def _customer_page(browser: Any, live: Any, customer_id: str, locale: str,
                   width: int = 1280) -> tuple[Any, Any]:
    link = live.access_link(customer_id)
    context = _context(browser, locale=locale, width=width)
    page = context.new_page()
    page.goto(link["url"])
    # a GET shows the button; pressing it (a POST with the page's CSRF token) opens the page
    page.locator("#link-form button").click()
    page.wait_for_url(live.url + "/me")
    return context, page


def test_customer_sees_what_would_change_the_estimate(live, browser, tmp_path):  # noqa: ANN001
    p, expected = _with_options(live)
    context, page = _customer_page(browser, live, p["customer_id"], "en-GB")
    try:
        panel = page.locator("#recourse")
        assert panel.get_by_role("heading", name="What would change this estimate").is_visible()
        assert "Any one of these changes" in page.locator("#me-rc-status").inner_text()
        assert "retention team is asked to get in touch" in page.locator("#me-rc-status") \
            .inner_text()
        items = panel.locator("li.rc-option")
        assert items.count() == len(expected["options"])
        for i, o in enumerate(expected["options"]):
            text = items.nth(i).inner_text()
            assert "If this changed" in text
            assert shown_percent(o["score"], "en") in text
            for c in o["changes"]:
                assert c["text"] in text
        words = panel.inner_text()
        assert "log-odds" not in words and "SHAP" not in words
        shot(page, tmp_path, "recourse-customer-en")
        page.goto(live.url + "/me?lang=fr")
        assert page.get_by_role("heading", name="Ce qui changerait cette estimation").is_visible()
        assert "Si ceci changeait" in page.locator("#recourse").inner_text()
        shot(page, tmp_path, "recourse-customer-fr")
    finally:
        context.close()


def test_customer_panel_on_a_414px_phone(live, browser, tmp_path):  # noqa: ANN001
    p, expected = _with_options(live)
    context, page = _customer_page(browser, live, p["customer_id"], "fr-FR", width=414)
    try:
        panel = page.locator("#recourse")
        panel.scroll_into_view_if_needed()
        assert panel.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 414
        box = panel.bounding_box()
        assert box is not None and box["width"] <= 414
        shot(page, tmp_path, "recourse-customer-phone-fr")
        panel.screenshot(path=str(tmp_path / "recourse-customer-phone-panel-fr.png"))
    finally:
        context.close()
