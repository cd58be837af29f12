"""The outside auditor (issue 18): a third party (a DPO's auditor, a regulator's inspector)
reads aggregate, non-identifying material only — contest analytics (page, CSV, API), the
compliance report (page, its downloads, API), the audit chain's verification (not its
entries: they carry pseudonyms), the served model — and never writes. Every other route and
page, derived from the app itself (so a route added later is swept too), answers 403 to an
auditor; every read of theirs is audited under their own account. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from serving.auth.users import display_names
from serving.storage.tables import AuditEvent
from tests.serving import test_roles as api_roles
from tests.serving.conftest import ADMIN_TOKEN, bearer
from tests.serving.test_analytics import world  # noqa: F401 - the shared fixture
from tests.serving.test_roles import _call, api_routes
from tests.serving.timeshift import into_last_quarter
from tests.serving.web import test_page_roles as page_roles
from tests.serving.web.test_pages import csrf_of, sign_in

# Everything an auditor may open: a deliberate list. Granting the auditor a new route means
# adding it here *and* to the role tables, and the checks below then hold it to the rules
# (a read, aggregate only, audited).
AUDITOR_API = {
    ("GET", "/v1/analytics/contests"),
    ("GET", "/v1/analytics/contests.csv"),
    ("GET", "/v1/compliance/report"),
    ("GET", "/v1/audit/verify"),
    ("GET", "/v1/model"),
}
AUDITOR_PAGES = {
    ("GET", "/staff/analytics"),
    ("GET", "/staff/analytics.csv"),
    ("GET", "/staff/compliance"),
    ("GET", "/staff/compliance/report.html"),
    ("GET", "/staff/compliance/report.json"),
}
PUBLIC_API = api_roles.PUBLIC | api_roles.EXCHANGE
# what the paths and bodies of the sweep are filled with: nothing needs to exist, the
# auditor is refused before anything is looked up
PLACEHOLDERS = {
    "prediction_id": "no-such-prediction", "task_id": "no-such-task", "user_id": "no-such-user",
    "customer_id": "no-such-customer", "dispute_id": "no-such-dispute",
    "request_id": "no-such-request",
    "body": {"customer_id": "no-such-customer", "features": {}},
    "dispute": {"prediction_id": "no-such-prediction", "statement": "wrong",
                "contested_features": [], "wants_human_review": True},
}


def _auditor_session(app, token: str) -> TestClient:  # noqa: ANN001
    c = TestClient(app)
    assert sign_in(c, token).status_code == 303
    return c


def test_every_route_is_refused_to_the_auditor_but_the_aggregate_reads(app, client, tokens):
    """Derived from the app's routes: any route or page not on the auditor's list (every
    customer, prediction, dispute, task, rights request, notice, outbox, risk list,
    recourse, dashboard and audit-entry route, and every write) answers 403 to the auditor's
    token or page session. A route without a rule in the role tables fails here."""
    routes = {(m, r.path) for r in api_routes(app) for m in r.methods}
    api = {(m, p) for m, p in routes if p.startswith("/v1/") or (m, p) in PUBLIC_API}
    pages = page_roles.page_routes(app)
    assert not api - set(api_roles.RULES) - PUBLIC_API, "API routes without a role rule"
    assert not pages - set(page_roles.RULES), "pages without a role rule"
    # the role tables and this list agree, and the auditor only ever reads
    assert {k for k, v in api_roles.RULES.items() if "auditor" in v} == AUDITOR_API
    assert {k for k, v in page_roles.RULES.items()
            if v != page_roles.PUBLIC and "auditor" in v} == AUDITOR_PAGES
    assert {m for m, _ in AUDITOR_API | AUDITOR_PAGES} == {"GET"}

    token = tokens["auditor"]
    refused = []
    for method, path in sorted(api - PUBLIC_API):
        status = _call(client, method, path, PLACEHOLDERS, token).status_code
        if (method, path) in AUDITOR_API:
            assert status == 200, (method, path, status)
        else:
            assert status == 403, (method, path, status)
            refused.append(path)
    assert len(refused) >= 40  # a sanity floor: the sweep really walked the API

    browser = _auditor_session(app, token)
    values = {"ref": "cu_nobody", "task_id": "no-such-task", "dispute_id": "no-such-dispute",
              "request_id": "no-such-request"}
    csrf = csrf_of(browser.get("/staff/sign-in").text)
    for method, path in sorted(pages):
        if page_roles.RULES[(method, path)] == page_roles.PUBLIC:
            continue
        r = browser.request(method, path.format(**values), follow_redirects=False,
                            data={"csrf_token": csrf} if method == "POST" else None)
        expected = 200 if (method, path) in AUDITOR_PAGES else 403
        assert r.status_code == expected, (method, path, r.status_code)
    # the staff home sends the auditor to what they may open
    assert browser.get("/staff", follow_redirects=False).headers["location"] == \
        "/staff/analytics"


def _identifiers(world) -> list[str]:  # noqa: ANN001, F811
    out = []
    for customer, p, d, _ in world:
        out += [customer["customer_id"], d["customer_ref"], d["dispute_id"], p["prediction_id"]]
    return out


def test_what_the_auditor_reads_names_no_one_and_every_read_is_audited(
        world, app, client, tokens):  # noqa: F811
    """On a database with 14 disputes decided in the last ended quarter: every read the
    auditor may make answers 200, holds no customer id, pseudonym, dispute or prediction id,
    and leaves one `scrutiny.read` row under the auditor's own account (named on the
    admin's audit page); a reviewer reading the same analytics leaves none."""
    into_last_quarter(app.state.db)  # an auditor reads ended quarters only
    auditor = bearer(tokens["auditor"])
    secrets = _identifiers(world)
    reads = [("/v1/analytics/contests", {}, "contest_analytics"),
             ("/v1/analytics/contests.csv", {}, "contest_analytics_csv"),
             ("/v1/compliance/report", {"lang": "fr"}, "compliance_report"),
             ("/v1/audit/verify", {}, "audit_verification"),
             ("/v1/model", {}, "model")]
    seen = []
    for path, params, what in reads:
        r = client.get(path, headers=auditor, params=params)
        assert r.status_code == 200, (path, r.text)
        assert not [s for s in secrets if s in r.text], path
        seen.append((what, "api"))
    chain = client.get("/v1/audit/verify", headers=auditor).json()
    assert chain["ok"] is True and set(chain) >= {"checked", "head_seq", "head_hash"}
    seen.append(("audit_verification", "api"))
    report = client.get("/v1/compliance/report", headers=auditor, params={"lang": "fr"}).json()
    assert report["lang"] == "fr" and report["disputes"]["received"] == 14
    seen.append(("compliance_report", "api"))
    rows = list(csv.DictReader(io.StringIO(
        client.get("/v1/analytics/contests.csv", headers=auditor).text)))
    assert any(r["count"] == "< 5" for r in rows)  # small cells suppressed for them too
    seen.append(("contest_analytics_csv", "api"))
    # the audit entries themselves stay the admin's
    assert client.get("/v1/audit/events", headers=auditor).status_code == 403

    browser = _auditor_session(app, tokens["auditor"])
    for path, what in (("/staff/analytics?lang=fr", "contest_analytics"),
                       ("/staff/analytics.csv", "contest_analytics_csv"),
                       ("/staff/compliance?lang=fr", "compliance_report"),
                       ("/staff/compliance/report.html?lang=fr", "compliance_report_html"),
                       ("/staff/compliance/report.json", "compliance_report_json")):
        r = browser.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert not [s for s in secrets if s in r.text], path
        seen.append((what, "web"))

    # a reviewer reading the same figures is the operator's own staff: not recorded
    assert client.get("/v1/analytics/contests", headers=bearer(tokens["reviewer"])
                      ).status_code == 200
    with app.state.db.session() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "scrutiny.read")
                                .order_by(AuditEvent.seq)))
        got = [(json.loads(e.objects)["what"], json.loads(e.objects)["via"]) for e in events]
        assert got == seen
        actors = {(e.actor, e.role, e.customer_ref) for e in events}
        (actor, role, ref), = actors
        assert role == "auditor" and ref is None and actor.startswith("staff:")
        assert display_names(s, [actor]) == {actor: "test auditor"}
    # the admin's audit page names the auditor beside each read
    with TestClient(app) as admin:
        sign_in(admin, ADMIN_TOKEN)
        page = admin.get("/staff/audit").text
    assert "scrutiny.read" in page and "test auditor" in page


def test_the_auditor_sees_only_what_it_may_open_in_the_navigation(app, tokens):
    """The staff pages' menu, in English and French: the auditor's lists the analytics and
    the compliance report only; a reviewer's still lists the review queue."""
    browser = _auditor_session(app, tokens["auditor"])
    for lang, words in (("en", ("Analytics", "Compliance report", "auditor")),
                        ("fr", ("Analyses", "Rapport de conformité", "auditeur"))):
        page = browser.get("/staff/analytics", params={"lang": lang}).text
        nav = page.split('<nav aria-label="', 1)[1].split("</nav>", 1)[0]
        links = sorted(set(re.findall(r'href="(/staff/[^"?]*)"', nav)))
        assert links == ["/staff/analytics", "/staff/compliance"], (lang, links)
        for w in words:
            assert w in nav, (lang, w)
    reviewer = _auditor_session(app, tokens["reviewer"])
    nav = reviewer.get("/staff/analytics").text.split("</nav>", 1)[0]
    assert 'href="/staff/reviews"' in nav and 'href="/staff/compliance"' in nav
