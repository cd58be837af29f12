"""Browser (Chromium): a reviewer under blind-first review records their own judgement before
the page shows the model's score, decides, and reads the contest analytics in English and
French with their charts (issue 18). Screenshots go to the test's tmp directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving.config import Settings
from serving.modelhost import ModelHost
from serving.storage import Database
from tests.serving.conftest import other_value
from tests.serving.timeshift import into_last_quarter
from tests.serving.web.conftest import Live, shot, start_live

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def live_blind(base_settings: Settings, host: ModelHost, customers: list[dict[str, Any]],
               tmp_path: Path) -> Iterator[Live]:
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path}/web.db", "blind_review": True})
    yield from start_live(settings, host, customers, n=40)


def _dispute(live: Live, host: ModelHost, p: dict[str, Any]) -> str:
    link = live.access_link(p["customer_id"])
    token = httpx.post(live.url + "/v1/sessions", json={"link": link["token"]},
                       timeout=30).json()["token"]
    c = p["contributions"][0]
    body = {"prediction_id": p["prediction_id"], "statement": "My contract changed.",
            "contested_features": [{"feature": c["feature"], "claimed_value": other_value(
                host.current().spec.feature(c["feature"]), c["value"])}],
            "wants_human_review": True}
    r = httpx.post(live.url + "/v1/disputes", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return r.json()["dispute_id"]


def test_blind_review_then_analytics(live_blind, page, host, tmp_path):  # noqa: ANN001
    live = live_blind
    disputes = [(_dispute(live, host, p), p) for p in live.scored[:6]]
    first, p0 = disputes[0]

    page.goto(live.url + "/staff/sign-in?next=/staff/reviews/" + first)
    page.get_by_label("Staff token").fill(live.tokens["reviewer"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/staff/reviews/{first}")
    # blind: the customer's data and statement, a judgement form, no score
    assert page.locator("#blind").is_visible() and page.locator("#blind-data").is_visible()
    assert page.locator("#model-h").count() == 0
    assert page.locator("input[name=decision]").count() == 0
    shot(page, tmp_path, "review-blind")
    page.get_by_label("Likely (high)").check()
    page.get_by_label("No, the data held looks right").check()
    page.get_by_role("button", name="Record my judgement and show the model's view").click()
    page.wait_for_url(f"**/staff/reviews/{first}")
    assert page.locator("#model-h").is_visible() and page.locator("#own-judgement").is_visible()
    shot(page, tmp_path, "review-after-judgement")
    page.locator("input[name=decision][value=upheld]").check()
    page.locator("#rationale").fill("The data we hold is right.")
    page.locator("button[name=action][value=confirm]").click()
    page.wait_for_url("**/staff/reviews")

    for did, _ in disputes[1:]:  # the others through the API, judged first too
        r = live.api("POST", f"/v1/disputes/{did}/judgement", role="reviewer",
                     json={"expected_risk": "medium", "claim_view": "agree"})
        assert r.status_code == 201, r.text
        r = live.api("POST", f"/v1/disputes/{did}/decision", role="reviewer",
                     json={"decision": "overturned", "rationale": "Wrong."})
        assert r.status_code == 201, r.text

    page.goto(live.url + "/staff/analytics?lang=en")
    assert page.get_by_role("heading", name="Contest analytics").is_visible()
    assert page.locator("#n-disputes").inner_text() == "6"
    assert page.locator("svg.chart").count() >= 3
    assert "< 5" in page.locator("#table-by_outcome").inner_text()  # 1 upheld: suppressed
    shot(page, tmp_path, "analytics-en")
    page.goto(live.url + "/staff/analytics?lang=fr")
    assert page.get_by_role("heading", name="Analyse des contestations").is_visible()
    assert "masqué" in page.locator("#table-by_outcome").inner_text()
    shot(page, tmp_path, "analytics-fr")
    # nothing about an individual on the page
    text = page.content()
    for _, p in disputes:
        assert p["customer_id"] not in text


def test_an_auditor_reads_the_analytics_and_the_compliance_report_in_french(
        live, browser, host, tmp_path):  # noqa: ANN001
    """An outside auditor in a French browser: signs in with their token, lands on the
    contest analytics, sees only the analytics and the compliance report in the menu, reads
    the report (French headings, French dates, the served model's card, the audit chain
    verified), downloads it; the risk list and a customer's page are refused. Nothing on
    the pages names a customer."""
    from tests.serving.web.conftest import new_page

    disputes = [(_dispute(live, host, p), p) for p in live.scored[:6]]
    for did, _ in disputes:
        r = live.api("POST", f"/v1/disputes/{did}/decision", role="reviewer",
                     json={"decision": "upheld", "rationale": "Checked."})
        assert r.status_code == 201, r.text
    db = Database(live.settings.database_url)
    quarter = into_last_quarter(db)  # an auditor reads quarters that have ended
    db.engine.dispose()
    page = new_page(browser, locale="fr-FR")
    try:
        page.goto(live.url + "/staff/sign-in")
        page.get_by_label("Jeton du personnel").fill(live.tokens["auditor"])
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/staff/analytics")
        assert page.get_by_role("heading", name="Analyse des contestations").is_visible()
        assert page.locator("#n-disputes").inner_text() == "6"
        assert page.locator("svg.chart").count() >= 3
        # the period: the last ended quarter, as it stood at its end; no "all time"
        picked = page.get_by_label("Période")
        assert picked.input_value() == quarter.label
        assert f"T{quarter.q} {quarter.year}" in picked.inner_text()
        assert "Depuis le début" not in picked.inner_text()
        assert "trimestres civils entiers" in page.locator("#quarter-why").inner_text()
        assert quarter.until.strftime("%d/%m/%Y") in page.locator("#as-of").inner_text()
        nav = page.get_by_role("navigation")
        assert nav.get_by_role("link", name="Analyses").is_visible()
        assert nav.get_by_role("link", name="Rapport de conformité").is_visible()
        for absent in ("Liste des risques", "File des revues", "Tableau de bord", "Audit"):
            assert nav.get_by_role("link", name=absent).count() == 0, absent
        assert "auditeur" in nav.inner_text()
        shot(page, tmp_path, "auditor-analytics-fr")

        nav.get_by_role("link", name="Rapport de conformité").click()
        page.wait_for_url("**/staff/compliance")
        assert page.get_by_role("heading", level=1,
                                name="Registre des traitements et rapport de conformité"
                                ).is_visible()
        assert page.get_by_role("heading", name="3. Contestations et leurs issues").is_visible()
        assert "Reçues : 6" in page.locator("#disputes-line").inner_text()
        assert page.get_by_label("Période").input_value() == quarter.label
        assert "telle qu'elle se présentait à sa fin" in page.locator(
            "#report-as-of").inner_text()
        assert page.locator("#chain").inner_text().startswith("Vérifiée :")
        served = host.current()
        assert page.get_by_role("heading", name=f"{served.name} version {served.version}"
                                ).is_visible()
        intro = page.locator("#report-intro").inner_text()
        assert "établi le " in intro and "/20" in intro  # a French date: dd/mm/yyyy
        shot(page, tmp_path, "auditor-compliance-fr")
        with page.expect_download() as got:
            page.locator("#download-html").click()
        saved = tmp_path / "report.html"
        got.value.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert '<html lang="fr">' in text and "Registre des activités de traitement" in text
        for _, p in disputes:
            assert p["customer_id"] not in page.content() and p["customer_id"] not in text

        # what names a customer stays closed to them
        for path in ("/staff/risk", f"/staff/customers/{disputes[0][1]['customer_ref']}",
                     "/staff/reviews", "/staff/audit", "/staff/dashboard"):
            response = page.goto(live.url + path)
            assert response.status == 403, path
            assert page.get_by_role("heading", name="Accès non autorisé").is_visible(), path
    finally:
        page.context.close()
