"""Customers in a real browser: open the link, read in French and English, contest,
see the reviewer's outcome, object."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving.web.conftest import new_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_link(browser: Any, live: Any, customer_id: str, locale: str = "fr-FR") -> Any:
    link = live.access_link(customer_id)
    page = new_page(browser, locale=locale)
    page.goto(link["url"])
    # a GET shows the button; pressing it (a POST with the page's CSRF token) opens the page
    page.locator("#link-form button").click()
    page.wait_for_url(live.url + "/me")  # the token is gone from the address
    assert link["token"] not in page.url
    return page


def test_customer_reads_the_explanation_in_french_and_english(live, browser, tmp_path):  # noqa: ANN001
    target = live.high()[0]
    page = open_link(browser, live, target["customer_id"], locale="fr-FR")
    try:
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.get_by_role("heading", name="Ce que notre modèle dit de vous").is_visible()
        said = page.locator(".prediction").inner_text()
        assert "vous envisagez peut-être de nous quitter" in said
        factors = page.locator("ul.factors li").all_inner_texts()
        assert factors and all(f.startswith("Vous ") and "l'estimation" in f for f in factors)
        assert page.get_by_role("heading", name="Aucune décision automatique").is_visible()
        assert page.get_by_role("heading", name="Vos droits", exact=True).is_visible()
        assert page.locator("svg.shap-chart").is_visible()
        shot(page, tmp_path, "customer-fr")

        page.get_by_role("link", name="English").click()
        assert page.locator("html").get_attribute("lang") == "en"
        assert "you may be considering leaving us" in page.locator(".prediction").inner_text()
        factors = page.locator("ul.factors li").all_inner_texts()
        assert factors and all(f.startswith("You ") and "the estimate" in f for f in factors)
        assert page.get_by_role("heading", name="No automatic decision").is_visible()
        # the choice is remembered
        page.reload()
        assert page.locator("html").get_attribute("lang") == "en"
        shot(page, tmp_path, "customer-en")

        # a customer session opens neither staff pages nor another customer's page
        other = live.scored[1]["customer_ref"]
        for path in ("/staff/risk", f"/staff/customers/{other}",
                     f"/staff/customers/{target['customer_ref']}"):
            r = page.goto(live.url + path)
            assert r.status == 403, path
            assert live.scored[1]["customer_id"] not in page.content()
    finally:
        page.context.close()


def test_customer_page_works_without_javascript(live, browser, tmp_path):  # noqa: ANN001
    link = live.access_link(live.scored[3]["customer_id"])
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(link["url"])  # a plain link: a button swaps it for a cookie
        page.locator("#link-form button").click()
        page.wait_for_url(live.url + "/me")
        assert link["token"] not in page.url
        assert page.get_by_role("heading", name="What our model says about you").is_visible()
        shot(page, tmp_path, "customer-no-js")
        # a code typed by hand (from a letter or a call) works without script too
        fresh = live.access_link(live.scored[3]["customer_id"])
        other = context.new_page()
        context.clear_cookies()
        other.goto(live.url + "/me")
        other.get_by_label("Access code").fill(fresh["token"])
        other.get_by_role("button", name="Open my page").click()
        other.wait_for_url(live.url + "/me")
        assert other.get_by_role("heading", name="What our model says about you").is_visible()
    finally:
        context.close()


def sign_in_staff(page: Any, live: Any, role: str) -> None:
    page.goto(live.url + "/staff/sign-in")
    page.get_by_label("Staff token").fill(live.tokens[role])
    page.get_by_role("button", name="Sign in").click()


def test_customer_contests_a_reviewer_rectifies_the_customer_sees_it(
        live, browser, tmp_path):  # noqa: ANN001
    target = live.high()[0]
    tenure = target["features"]["tenure"]
    page = open_link(browser, live, target["customer_id"], locale="en-GB")
    try:
        page.get_by_role("link", name="Contest this prediction").click()
        assert page.get_by_role("heading", name="Contest the prediction").is_visible()
        # a category is a choice list, a number a text field with a decimal keypad (a
        # browser's number field would rewrite "2,5" or "10,000" before the server reads it)
        assert page.locator("#value-Contract").evaluate("e => e.tagName") == "SELECT"
        assert page.locator("#value-tenure").get_attribute("type") == "text"
        assert page.locator("#value-tenure").get_attribute("inputmode") == "decimal"
        page.locator("#wrong-tenure").check()
        page.locator("#value-tenure").fill("-3")
        page.locator("#wrong-Contract").check()
        page.locator("#value-Contract").select_option("Two year")
        page.get_by_label("Your statement").fill("I have been with you for years, "
                                                 "on a two-year contract.")
        page.get_by_role("button", name="Send my request").click()
        # the error sits next to the field, and everything typed is kept
        assert page.get_by_role("alert").is_visible()
        assert "between 0 and" in page.locator("#error-tenure").inner_text()
        assert page.locator("#value-tenure").get_attribute("aria-invalid") == "true"
        assert page.locator("#value-Contract").input_value() == "Two year"
        assert page.locator("#wrong-Contract").is_checked()
        assert "two-year contract" in page.get_by_label("Your statement").input_value()
        shot(page, tmp_path, "contest-error")
        # typed with a thousands separator: the browser sends it as typed, the server
        # asks for it without one (it never reads it as another number)
        page.locator("#value-tenure").fill("10,000")
        page.get_by_role("button", name="Send my request").click()
        assert "without a thousands separator" in page.locator("#error-tenure").inner_text()
        assert page.locator("#value-tenure").input_value() == "10,000"
        page.locator("#value-tenure").fill(str(int(tenure) + 30))
        page.get_by_role("button", name="Send my request").click()
        assert page.get_by_role("heading", name="We have received your request").is_visible()
        reference = page.locator("#reference").inner_text()
        assert reference and page.locator("#due-by").inner_text()
        status_url = page.url.split("?")[0]
        shot(page, tmp_path, "contest-sent")
        page.goto(live.url + "/me")
        assert "While a person reviews it" in page.locator(".mark").inner_text()
        assert page.get_by_role("link", name=f"Reference {reference}").is_visible()

        staff = new_page(browser)
        try:
            sign_in_staff(staff, live, "reviewer")
            assert staff.url.endswith("/staff/reviews")
            row = staff.locator("table.reviews tbody tr").first
            assert "asked" in row.inner_text()
            row.get_by_role("link").click()
            assert "two-year contract" in staff.locator("#statement").inner_text()
            staff.get_by_label("Rectified — correct the data and re-score").check()
            staff.get_by_role("button", name="Preview the re-score").click()
            assert staff.locator("#preview").is_visible()
            assert staff.locator("#preview tr.corrected").count() == 2
            assert staff.locator("svg.shap-chart").count() == 2
            # the rationale is required to confirm
            staff.get_by_role("button", name="Confirm the decision").click()
            assert "Give the reasons" in staff.locator("#error-rationale").inner_text()
            staff.get_by_label("Rationale (required; the customer reads it)").fill(
                "Our records were out of date: tenure and contract corrected.")
            shot(staff, tmp_path, "review-preview")
            staff.get_by_role("button", name="Confirm the decision").click()
            assert "Decision recorded: rectified" in staff.locator(".flash").inner_text()
        finally:
            staff.context.close()

        page.goto(status_url)
        assert "corrected your data" in page.locator("#outcome").inner_text()
        assert page.locator("#new-prediction").is_visible()
        assert "out of date" in page.inner_text("main")
        page.get_by_role("link", name="Français").click()
        assert "a corrigé vos données" in page.locator("#outcome").inner_text()
        shot(page, tmp_path, "contest-outcome")

        # the admin's audit view: the dispute and the decision, and a chain that verifies
        admin = new_page(browser)
        try:
            sign_in_staff(admin, live, "admin")
            admin.goto(live.url + "/staff/audit")
            assert "The chain verifies" in admin.locator("#chain-status").inner_text()
            actions = admin.locator("td[data-label=Action]").all_inner_texts()
            assert "dispute.opened" in actions and "dispute.decided" in actions
            assert target["customer_id"] not in admin.inner_text("main")  # pseudonyms only
            shot(admin, tmp_path, "audit")
        finally:
            admin.context.close()
    finally:
        page.context.close()


def test_customer_objects(live, browser, tmp_path):  # noqa: ANN001
    target = live.with_task()[0]
    page = open_link(browser, live, target["customer_id"], locale="en-GB")
    try:
        page.get_by_role("link", name="Object to profiling").click()
        # a confirmation step: nothing happens until confirmed
        assert page.get_by_role("heading", name="Object to profiling").is_visible()
        page.get_by_role("button", name="Yes, I object").click()
        assert page.url == live.url + "/me"
        assert "Your objection is recorded" in page.locator(".flash").inner_text()
        assert "No more retention predictions will be made" in page.inner_text("main")
        assert page.get_by_role("button", name="Withdraw my objection").is_visible()
        shot(page, tmp_path, "objected")
        # off the risk list for the agents, and no longer scored
        r = live.api("GET", "/v1/risk-list", role="agent", params={"limit": 500})
        assert target["customer_ref"] not in {i["customer_ref"] for i in r.json()["items"]}
        r = live.api("POST", "/v1/predictions", role="agent",
                     json={"customer_id": target["customer_id"], "features": target["features"]})
        assert r.status_code == 409 and r.json()["status"] == "suppressed"
        # and the way back
        page.get_by_role("button", name="Withdraw my objection").click()
        assert "Your objection is withdrawn" in page.locator(".flash").inner_text()
        assert page.get_by_role("link", name="Object to profiling").is_visible()
    finally:
        page.context.close()


def test_customer_page_on_a_phone(live, browser, tmp_path):  # noqa: ANN001
    link = live.access_link(live.high()[1]["customer_id"])
    page = new_page(browser, locale="fr-FR", mobile=True)
    try:
        page.goto(link["url"])
        # a GET shows the button; pressing it (a POST with the page's CSRF token) opens the page
        page.locator("#link-form button").click()
        page.wait_for_url(live.url + "/me")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # keyboard: the skip link is the first stop and leads to the content
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        shot(page, tmp_path, "customer-phone", full_page=False)
    finally:
        page.context.close()
