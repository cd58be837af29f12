"""Words people read, in Chromium: a staff page in French, and the customer's page on a
414 px phone with a chart whose text is readable (at least 12 CSS px) and whose labels are
whole (not cut with "…", inside the chart, overlapping nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.serving.web.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 414, "height": 896}

# every text of the chart: its computed font size and box, and the chart's box
CHART_TEXTS = """() => {
  const svg = document.querySelector('svg.shap-chart');
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect();
    const spans = [...t.querySelectorAll('tspan')].map(s => s.textContent);
    return {text: spans.length ? spans.join(' ') : t.textContent, cls: t.getAttribute('class'),
            size: parseFloat(getComputedStyle(t).fontSize),
            left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  });
  return {box: {left: box.left, right: box.right, top: box.top, bottom: box.bottom,
                width: box.width}, texts,
          scrollWidth: document.documentElement.scrollWidth};
}"""


def _context(browser: Any, locale: str, viewport: dict[str, int] | None = None) -> Any:
    context = browser.new_context(locale=locale, viewport=viewport or {"width": 1280,
                                                                       "height": 900},
                                  java_script_enabled=True)
    context.set_default_timeout(10_000)
    return context


def test_a_staff_page_in_french(live, browser, tmp_path: Path):  # noqa: ANN001
    context = _context(browser, "fr-FR")
    try:
        page = context.new_page()
        page.goto(live.url + "/staff/sign-in")
        assert page.locator("html").get_attribute("lang") == "fr"
        page.get_by_label("Jeton du personnel").fill(live.tokens["agent"])
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(live.url + "/staff/risk")
        assert page.get_by_role("heading", name="Liste des risques").is_visible()
        reasons = page.locator("table.risk .reasons li").all_inner_texts()
        assert reasons and all(r.startswith("Le client ") or "\u00a0: " in r for r in reasons)
        assert all("l'estimation" in r for r in reasons)
        shot(page, tmp_path, "staff-risk-fr")
        page.locator("table.risk tbody tr").first.get_by_role("link").first.click()
        assert page.get_by_role("heading", name="Dernier score").is_visible()
        assert page.get_by_role("heading", name="Données utilisées").is_visible()
        whys = page.locator("#data-h ~ table td:nth-child(3)").all_inner_texts()
        assert whys and all(w.strip() for w in whys)  # a purpose for every feature
        body = page.locator("main").inner_text()
        for english in ("Latest score", "Main reasons", "Why it is used", "Retention task",
                        "Prediction history", "log-odds"):
            assert english not in body, english
        shot(page, tmp_path, "staff-customer-fr")
        # the switch to English, kept on the next page
        page.get_by_role("link", name="English").click()
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", name="Latest score").is_visible()
    finally:
        context.close()


def test_the_customer_page_on_a_414_px_phone_has_a_readable_chart(live, browser,  # noqa: ANN001
                                                                  tmp_path: Path):
    target = live.high()[0]
    link = live.access_link(target["customer_id"])
    context = _context(browser, "fr-FR", PHONE)
    try:
        page = context.new_page()
        page.goto(link["url"])
        # a GET shows the button; pressing it (a POST with the page's CSRF token) opens the page
        page.locator("#link-form button").click()
        page.wait_for_url(live.url + "/me")
        chart = page.locator("svg.shap-chart")
        chart.scroll_into_view_if_needed()
        assert chart.is_visible()
        got = page.evaluate(CHART_TEXTS)
        box, texts = got["box"], got["texts"]
        assert got["scrollWidth"] <= PHONE["width"]  # nothing wider than the phone
        assert box["width"] < PHONE["width"]
        assert len(texts) >= 6
        for t in texts:
            assert t["size"] >= 12, t  # readable: 14 px, not scaled down
            assert "\u2026" not in t["text"], t  # never cut with an ellipsis
            assert t["left"] >= box["left"] - 0.5 and t["right"] <= box["right"] + 0.5, t
            assert t["top"] >= box["top"] - 0.5 and t["bottom"] <= box["bottom"] + 0.5, t
        for i, a in enumerate(texts):  # no text over another
            for b in texts[i + 1:]:
                overlap = (min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1
                           and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1)
                assert not overlap, (a, b)
        labels = " ".join(t["text"] for t in texts if t["cls"] == "label")
        # the long French value that used to be cut ("sans engagement (mensue…") is whole
        if target["features"].get("Contract") == "Month-to-month":
            assert "sans engagement (mensuel)" in labels
        effects = [t["text"] for t in texts if t["cls"] == "effect"]
        assert effects and all(e.endswith(("beaucoup", "nettement", "un peu", "à peine"))
                               for e in effects)
        shot(page, tmp_path, "customer-414-fr")
        chart.screenshot(path=str(tmp_path / "customer-414-fr-chart.png"))
    finally:
        context.close()
