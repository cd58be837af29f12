"""The compliance report (issue 18) on a database filled through the API (the analytics
world: 14 disputes opened by customers and decided by a reviewer) plus rights requests
with known deadlines: the record of processing, the requests answered in time, the
disputes with small cells suppressed, the served model with its card from MLflow, and the
audit chain verified. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from serving.cli import main as cli
from serving.compliance import service as compliance
from serving.storage.tables import RightsRequest
from tests.serving.test_analytics import world  # noqa: F401 - the shared fixture

NOW = datetime.now(UTC)


def _request(kind: str, opened_days_ago: int, *, closed_days_ago: int | None = None,
             extended: bool = False, status: str | None = None) -> RightsRequest:
    opened = NOW - timedelta(days=opened_days_ago)
    due = opened + timedelta(days=30)
    return RightsRequest(
        customer_ref=f"cu_{kind}_{opened_days_ago}", kind=kind,
        status=status or ("done" if closed_days_ago is not None else "open"),
        opened_at=opened, due_at=due,
        extended_due_at=due + timedelta(days=61) if extended else None,
        extension_reason="complex" if extended else None, opened_via="customer",
        opened_by="customer",
        closed_at=NOW - timedelta(days=closed_days_ago) if closed_days_ago is not None
        else None)


def test_the_report_says_what_was_done(world, app, settings, tmp_path):  # noqa: F811
    with app.state.db.session() as s:
        s.add_all(
            # access: 6 answered in time, 5 late (40 days after opening, no extension)
            [_request("access", 50, closed_days_ago=45) for _ in range(6)]
            + [_request("access", 60, closed_days_ago=20) for _ in range(5)]
            # erasure: extended, answered 70 days after opening: within the extension
            + [_request("erasure", 80, closed_days_ago=10, extended=True)]
            # objection: open past its deadline
            + [_request("objection", 40)])
        s.commit()
        report = compliance.build(s, settings)

    assert report.audit_chain["ok"] is True and report.audit_chain["checked"] > 14
    assert report.legal_basis == settings.legal_basis
    assert report.retention["disputes_days"] == settings.retention_disputes_days
    # the data categories are the served model's features, with their purposes
    served = app.state.host.current()
    assert [c["name"] for c in report.data_categories] == served.spec.feature_names
    (model,) = report.models
    assert (model.name, model.version) == (served.name, served.version)
    assert model.card and "churn" in model.card.lower() and model.card_problem is None
    # requests: counts per kind, small cells suppressed, deadlines judged
    req = {q.kind: q for q in report.requests}
    assert report.requests_total == 13
    assert req["access"].opened == 11 and req["access"].answered == 11
    assert req["access"].answered_in_time == 6
    assert abs(req["access"].in_time_rate - 6 / 11) < 1e-9
    assert req["erasure"].opened is None  # 1 < k: suppressed
    assert req["objection"].open_overdue is None  # 1 < k: suppressed, not shown as 1
    assert req["rectification"].opened == 0
    # disputes from the story, suppressed the same way as the analytics
    assert report.disputes["received"] == 14
    assert report.disputes["by_outcome"]["upheld"] == 7
    assert report.disputes["by_outcome"]["rectified"] is None

    # the CLI writes both files; the HTML prints the same facts and no individual
    out = tmp_path / "report"
    import os

    env = {"CHURN_DATABASE_URL": settings.database_url,
           "CHURN_TRACKING_URI": settings.tracking_uri, "MLFLOW_TRACKING_URI": "",
           "CHURN_ADMIN_TOKEN": settings.admin_token.get_secret_value()}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert cli(["compliance-report", "--out", str(out)]) == 0
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    html = (out / "compliance-report.html").read_text()
    data = json.loads((out / "compliance-report.json").read_text())
    assert data["requests_total"] == 13 and data["audit_chain"]["ok"] is True
    assert 'id="chain" class="ok"' in html and "Record of processing" in html
    assert f"{served.name} version {served.version}" in html
    assert "&lt; 5" in html  # suppressed cells
    assert "<h1>" in html.split('id="models"')[1] or "<h2" in html  # the card rendered
    for customer, _, d, _ in world:
        assert customer["customer_id"] not in html and d["customer_ref"] not in html
        assert d["dispute_id"] not in html


def test_a_broken_chain_is_reported(world, app, settings, database_url):  # noqa: F811
    """A tampered audit row (triggers dropped by an intruder) makes the report say BROKEN."""
    import sqlalchemy as sa

    with app.state.db.session() as s:
        if database_url.startswith("sqlite"):
            s.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            names = [r[0] for r in s.execute(sa.text(
                "SELECT name FROM sqlite_master WHERE type='trigger' "
                "AND tbl_name='audit_log'"))]
            for n in names:
                s.execute(sa.text(f"DROP TRIGGER {n}"))
        else:
            s.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        s.execute(sa.text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3"))
        s.commit()
        report = compliance.build(s, settings)
    assert report.audit_chain["ok"] is False and report.audit_chain["first_broken"] == 3
    assert "BROKEN at entry 3" in compliance.render_html(report)


def test_the_report_in_french(world, app, settings, tmp_path, monkeypatch):  # noqa: F811
    """`--lang fr` (and the page's language): every heading and sentence in French, the
    served model's data described in French, numbers, shares and dates as French writes
    them; the English report of the same database keeps its own forms."""
    from serving.compliance import wording

    with app.state.db.session() as s:
        s.add_all([_request("access", 50, closed_days_ago=45) for _ in range(6)]
                  + [_request("access", 60, closed_days_ago=20) for _ in range(5)])
        s.commit()
        fr = compliance.build(s, settings, lang="fr", now=NOW)
        en = compliance.build(s, settings, lang="en", now=NOW)
    html, html_en = compliance.render_html(fr), compliance.render_html(en)
    assert fr.lang == "fr" and '<html lang="fr">' in html
    assert "Registre des traitements et rapport de conformité" in html
    assert "1. Registre des activités de traitement (RGPD, art. 30)" in html
    assert "Finalités" in html and "Base légale" in html and "intérêt légitime" in html
    for english in ("Record of processing", "Purposes", "Legal basis", "Received ",
                    "Within the deadline", "Verified:"):
        assert english not in html, english
    # dates: dd/mm/yyyy; shares: "55 %" (no-break space); days with their unit
    assert NOW.strftime("%d/%m/%Y %H:%M UTC") in html
    assert NOW.strftime("%Y-%m-%d %H:%M UTC") in html_en
    row = html.split('id="req-access"', 1)[1].split("</tr>", 1)[0]
    assert "accès" in row and "55\u00a0%" in row  # 6 of 11 in time
    assert "55%" in html_en.split('id="req-access"', 1)[1].split("</tr>", 1)[0]
    days = settings.retention_disputes_days
    assert f"{wording.integer(days, 'fr')} jours" in html
    assert "Reçues : 14" in html and "maintenue (la prédiction reste)" in html
    assert "Vérifiée :" in html
    # the data categories in French, from the model's own spec
    spec = app.state.host.current().spec
    for f in spec.features:
        cat = html.split(f'id="cat-{f.name}"', 1)[1].split("</tr>", 1)[0]
        assert f.description.fr.replace("'", "&#39;") in cat and f.description.en not in cat
        assert f.display_label("fr").replace("'", "&#39;") in cat
    # the model card is MLflow's English text, marked so
    assert 'class="model-card" lang="en"' in html and "rédigée (en anglais)" in html
    assert fr.purposes[0].startswith("Estimer") and fr.security and fr.recipients

    # the CLI writes the French report with --lang fr
    monkeypatch.setenv("CHURN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHURN_TRACKING_URI", settings.tracking_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    monkeypatch.setenv("CHURN_ADMIN_TOKEN", settings.admin_token.get_secret_value())
    out = tmp_path / "fr"
    assert cli(["compliance-report", "--out", str(out), "--lang", "fr"]) == 0
    written = (out / "compliance-report.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in written and "Contestations et leurs issues" in written
    data = json.loads((out / "compliance-report.json").read_text(encoding="utf-8"))
    assert data["lang"] == "fr" and data["requests_total"] == 11


def test_the_report_words_exist_in_both_languages():
    """Every text the report's template asks for exists in English and French with the same
    placeholders, and each key built from a value (`t("req_" ~ kind)`) exists for every
    value its domain can take."""
    import re
    from typing import get_args

    from models.spec import FeatureKind
    from serving.analytics.service import OUTCOMES
    from serving.auth.principal import STAFF_ROLES
    from serving.compliance import wording
    from tests.serving.web.test_i18n_keys import DYNAMIC

    assert wording.problems() == []
    body = (compliance.TEMPLATES / "_body.html").read_text(encoding="utf-8")
    literal = set(re.findall(r't\("([a-z_0-9]+)"(?!\s*~)', body))
    assert literal and literal <= set(wording.TEXTS), literal - set(wording.TEXTS)
    domains = {"kind_": get_args(FeatureKind), "req_": compliance.KINDS,
               "out_": OUTCOMES, "rate_": DYNAMIC["an_rate_"], "role_": STAFF_ROLES}
    assert set(re.findall(r't\("([a-z]+_)" ~', body)) == set(domains) - {"role_"}
    for lang in wording.LANGS:
        t = wording.translator(lang)
        for prefix, values in domains.items():
            for v in values:
                assert t(prefix + v), (lang, prefix + v)


def test_numbers_and_dates_as_each_language_writes_them():
    from serving.compliance import wording

    assert wording.integer(1234567, "en") == "1,234,567"
    assert wording.integer(1234567, "fr") == "1\u202f234\u202f567"
    assert wording.decimal(1234.56, "en") == "1,234.6"
    assert wording.decimal(1234.56, "fr") == "1\u202f234,6"
    assert wording.percent(0.554, "en") == "55%" and wording.percent(0.5, "fr") == "50\u00a0%"
    at = datetime(2026, 1, 31, 12, 5, tzinfo=UTC)
    assert wording.when(at, "en") == "2026-01-31 12:05 UTC"
    assert wording.when(at.isoformat(), "fr") == "31/01/2026 12:05 UTC"
    assert wording.when("2026-01-31T00:00:00+00:00", "fr") == "31/01/2026"
    t = wording.translator("fr")
    assert t("requests_total", count=1).startswith("1 demande.")
    assert wording.translator("en")("requests_total", count=0).startswith("0 requests.")
    assert t("requests_total", count=1234).startswith("1\u202f234 demandes.")
