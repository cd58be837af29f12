"""The monitoring dashboard in a real browser (headless Debian Chromium) after a small
simulation (tests/simulation/support.py): a reviewer signs in and reads every section, in
English and French; an agent is refused the page. Screenshots go to CHURN_SCREENSHOTS (or
the test's tmp dir)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from serving.config import Settings
from serving.main import create_app
from serving.modelhost import ModelHost
from tests.serving.conftest import ADMIN_TOKEN
from tests.serving.web.conftest import Server, free_port, new_page, shot
from tests.simulation.support import DRIFT_MONTH, SAME_WORKER, small_simulation

pytestmark = [pytest.mark.browser, pytest.mark.slow, SAME_WORKER]


@pytest.fixture(scope="module")
def dashboard_app(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    result, _, work = small_simulation(tmp_path_factory)
    port = free_port()
    settings = Settings(database_url=result.database_url, tracking_uri=result.tracking_uri,
                        model_uri="models:/churn@champion", admin_token=ADMIN_TOKEN,
                        delivery_worker=False, control_fraction=0.5, label_horizon_days=30,
                        audit_attributes=str(work / "audit_attributes.parquet"),
                        public_base_url=f"http://127.0.0.1:{port}")
    host = ModelHost(settings)
    host.load()
    with Server(create_app(settings, host=host), port):
        url = f"http://127.0.0.1:{port}"
        tokens = {}
        for role in ("agent", "reviewer"):
            r = httpx.post(url + "/v1/admin/users", json={"name": f"dash {role}", "role": role},
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
            assert r.status_code == 201, r.text
            tokens[role] = r.json()["token"]
        yield url, tokens, result


def sign_in(page, url: str, token: str) -> None:  # noqa: ANN001
    page.goto(url + "/staff/sign-in")
    page.get_by_label("Staff token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_a_reviewer_reads_the_dashboard_in_english_and_french(dashboard_app, browser) -> None:  # noqa: ANN001
    url, tokens, result = dashboard_app
    out = Path(os.environ.get("CHURN_SCREENSHOTS", "/tmp"))
    page = new_page(browser)
    # the page reads every receipt of the simulation: seconds on a loaded machine
    page.set_default_timeout(60_000)
    try:
        sign_in(page, url, tokens["reviewer"])
        page.get_by_role("link", name="Dashboard").click()
        page.wait_for_url("**/staff/dashboard")
        assert page.get_by_role("heading", name="Monitoring dashboard").is_visible()
        # the drift injected in the last month is an alert, named with its feature
        alerts = page.locator(".alert-list li")
        assert alerts.count() >= 1
        assert "Drift on SupportCalls" in alerts.first.inner_text()
        drift_month = result.months[DRIFT_MONTH - 1].period
        assert drift_month in alerts.first.inner_text().replace("-01", "")
        # every section has its chart, drawn on the server as SVG with words for readers
        for chart in ("risk", "tasks", "effect", "quality", "drift", "fairness"):
            svg = page.locator(f'svg[aria-labelledby="{chart}-t {chart}-d"]')
            assert svg.count() == 1, chart
            assert svg.locator("desc").text_content().strip()
        # realised quality table: one row per month, AUC with its interval
        rows = page.locator("section[aria-labelledby=quality-h] tbody tr")
        assert rows.count() == len(result.months)
        # the contact effect with its interval and both arms' counts
        effect = page.locator('svg[aria-labelledby="effect-t effect-d"]').text_content()
        assert "contacted" in effect and "held out" in effect
        # drift cells: the alert is marked in words, not only in colour
        assert page.locator("td.psi-alert .status").first.inner_text() == "ALERT"
        shot(page, out, "dashboard-en")
        page.goto(url + "/staff/dashboard?lang=fr")
        assert page.get_by_role("heading", name="Tableau de bord de suivi").is_visible()
        assert "Dérive de SupportCalls" in page.locator(".alert-list li").first.inner_text()
        assert page.get_by_role("heading", name="Le contact aide-t-il ?").is_visible()
        shot(page, out, "dashboard-fr")
    finally:
        page.context.close()


def test_an_agent_is_refused_the_dashboard(dashboard_app, browser) -> None:  # noqa: ANN001
    url, tokens, _ = dashboard_app
    page = new_page(browser)
    try:
        sign_in(page, url, tokens["agent"])
        assert page.get_by_role("link", name="Dashboard").count() == 0
        response = page.goto(url + "/staff/dashboard")
        assert response.status == 403
        assert page.get_by_role("heading", name="Not allowed").is_visible()
    finally:
        page.context.close()
