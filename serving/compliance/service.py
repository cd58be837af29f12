"""The compliance report (issue 18, GDPR Arts. 5(2) and 30): `make compliance-report`
(`python -m serving.cli compliance-report --out DIR [--since --until] [--lang en|fr]`)
writes `compliance-report.html` (prints well) and `compliance-report.json`, in the reader's
language (`serving/compliance/wording.py`: its words, held in `wording.yaml`, numbers and
dates); the staff page `/staff/compliance` and `GET /v1/compliance/report` build it on
request for reviewers, admins and outside auditors (an auditor's read is audited):

- the record of processing: controller, purposes, legal basis (CHURN_LEGAL_BASIS), the
  categories of data (from the spec of every model that served: each feature with its
  description and purpose), the categories of people, recipients (staff roles, the
  delivery channel), the retention schedule (the CHURN_RETENTION_* settings) and the
  security measures in force;
- the rights requests of the period (`rights_requests`): per kind, how many were answered,
  how many within their deadline (extended or not), how many are open past it;
- the disputes of the period and their outcomes, from contest analytics (small cells
  suppressed the same way);
- the model versions served (`model_versions`) with their model cards from MLflow;
- the audit chain's verification, recomputed at the time of the report.

Counts only: no pseudonym, id or free text of a customer appears in it. The model cards
are MLflow's (English, as training wrote them); a French report says so.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from serving.analytics import periods
from serving.analytics import service as analytics
from serving.audit import service as audit
from serving.auth.principal import AUDITOR, Principal
from serving.compliance import wording
from serving.compliance.schemas import (
    ComplianceReportPublic,
    ModelServedPublic,
    RequestSummaryPublic,
)
from serving.config import Settings
from serving.specs import SpecCache
from serving.storage import analytics as analytics_store
from serving.storage import compliance as store

TEMPLATES = Path(__file__).parent / "templates"
CLOSED = ("done", "refused", "cancelled")
KINDS = ("access", "erasure", "rectification", "restriction", "objection")

def _hide(n: int, k: int) -> int | None:
    return None if 0 < n < k else n


def request_summaries(facts: list[store.RequestFacts], k: int,
                      now: datetime) -> list[RequestSummaryPublic]:
    """Per kind of request: opened, answered, answered within the (extended) deadline."""
    out = []
    for kind in sorted({f.kind for f in facts} | set(KINDS),
                       key=lambda x: (KINDS.index(x) if x in KINDS else 99, x)):
        mine = [f for f in facts if f.kind == kind]
        answered = [f for f in mine if f.status in CLOSED and f.closed_at is not None]
        in_time = sum(1 for f in answered if f.closed_at <= (f.extended_due_at or f.due_at))
        extended = sum(1 for f in mine if f.extended_due_at is not None)
        overdue = sum(1 for f in mine if f.status not in CLOSED
                      and (f.extended_due_at or f.due_at) < now)
        r = analytics.rate(kind, in_time, len(answered), k)
        out.append(RequestSummaryPublic(
            kind=kind, opened=_hide(len(mine), k), answered=_hide(len(answered), k),
            answered_in_time=_hide(in_time, k), extended=_hide(extended, k),
            open_overdue=_hide(overdue, k), in_time_rate=r.rate))
    return out


def _card(settings: Settings, name: str, version: str) -> tuple[str | None, str | None]:
    """The model card logged with the version's training run, or why it is missing."""
    try:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=settings.tracking_uri,
                              registry_uri=settings.tracking_uri)
        run_id = client.get_model_version(name, version).run_id
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(run_id, "model_card.md", tmp)
            return Path(path).read_text(encoding="utf-8"), None
    except Exception as exc:  # noqa: BLE001 - a registry away or a card missing: said so
        return None, f"the model card could not be read from {settings.tracking_uri}: " \
                     f"{type(exc).__name__}: {str(exc)[:200]}"


def _setting_text(value: str, defaults: dict[str, str], lang: str) -> str:
    """A setting's text in the report's language when it is the default, else as set."""
    return defaults[lang] if value == defaults["en"] else value


def _recipients(roles: dict[str, int], settings: Settings, lang: str) -> list[str]:
    t = wording.translator(lang)
    out = [t("recipient_role", count=n, role=t("role_" + role) if "role_" + role in
             wording.TEXTS else role)
           for role, n in sorted(roles.items()) if role != AUDITOR]
    if roles.get(AUDITOR):
        out.append(t("recipient_auditors", count=roles[AUDITOR]))
    out.append(t("recipient_customer_smtp" if settings.smtp_url
                 else "recipient_customer_mailbox"))
    out.append(t("recipient_no_third"))
    return out


def request_at(f: store.RequestFacts, t: datetime) -> store.RequestFacts:
    """The request as it stood at `t`: answered later, it was still open then."""
    if f.closed_at is None or f.closed_at < t:
        return f
    return dataclasses.replace(f, status="open", closed_at=None)


def build(session: Session, settings: Settings, *, since: datetime | None = None,
          until: datetime | None = None, specs: SpecCache | None = None,
          now: datetime | None = None, lang: str = "en",
          as_of: datetime | None = None) -> ComplianceReportPublic:
    """Everything the report says, read from the database, the settings and MLflow, in
    `lang` (en or fr); `as_of`: the period's figures as they stood then (its end: what an
    outside auditor gets). The period obeys every reader's rules (`periods.resolve`: UTC,
    in order), the command line's too."""
    since, until = periods.resolve(since, until, None)
    lang = wording.pick(lang)
    now = now or datetime.now(UTC)
    counted_at = min(now, as_of) if as_of is not None else now
    specs = specs or SpecCache()
    k = settings.analytics_min_cell
    models, categories, seen = [], [], set()
    for name, version, first, _ in analytics_store.served_models(session):
        spec = specs.get(session, name, version)
        features = [{"name": f.name, "label": f.display_label(lang), "kind": f.kind,
                     "description": f.description_text(lang) or "",
                     "description_lang": f.description_lang(lang),
                     "purpose": f.purpose_or_missing(lang),
                     "purpose_lang": f.purpose_lang(lang)} for f in spec.features]
        for f in features:
            if f["name"] not in seen:
                seen.add(f["name"])
                categories.append(f)
        card, problem = _card(settings, name, version)
        models.append(ModelServedPublic(
            name=name, version=version, first_served_at=first.isoformat(timespec="seconds"),
            dataset=spec.dataset, features=features, card=card, card_problem=problem))
    recipients = _recipients(store.staff_by_role(session), settings, lang)
    attrs, sizes = analytics.attributes_from_settings(settings)
    a = analytics.compute(session, specs, k, since=since, until=until, now=now,
                          attributes=attrs, group_sizes=sizes, lang=lang, as_of=as_of)
    outcome = a.table("by_outcome")
    disputes = {
        "received": a.disputes, "decided": a.decided, "open": a.open,
        "overdue_open": a.overdue_open, "median_days_to_decision": a.median_days,
        "by_outcome": {c.group: c.count for c in outcome.cells} if outcome else {},
        "rates": {r.key: r.rate for r in a.rates},
        # by sensitive group (CHURN_AUDIT_ATTRIBUTES): disputes and the share judged a
        # mistake, suppressed like the rest
        "by_group": {t.key.split(":", 1)[1]: {c.group: {"disputes": c.count,
                                                         "judged_mistaken": c.mistaken_rate}
                                               for c in t.cells}
                     for t in a.tables if t.key.startswith("group:")},
    }
    facts = store.rights_requests(session, since, until)
    if as_of is not None:
        facts = [request_at(f, as_of) for f in facts]
    chain = audit.verify(session)
    return ComplianceReportPublic(
        lang=lang, title=wording.translator(lang)("title"),
        generated_at=now.isoformat(timespec="seconds"),
        since=since.isoformat() if since else None, until=until.isoformat() if until else None,
        as_of=as_of.isoformat() if as_of is not None else None,
        controller=_setting_text(settings.controller_name, wording.DEFAULT_CONTROLLER, lang),
        purposes=wording.PURPOSES[lang],
        legal_basis=_setting_text(settings.legal_basis, wording.DEFAULT_LEGAL_BASIS, lang),
        people=wording.PEOPLE[lang], data_categories=categories,
        recipients=recipients,
        retention={"predictions_days": settings.retention_predictions_days,
                   "tasks_days": settings.retention_tasks_days,
                   "disputes_days": settings.retention_disputes_days,
                   "notices_days": settings.retention_notices_days,
                   "link_messages_days": settings.retention_outbox_days,
                   "purge_after_batch": int(settings.purge_after_batch)},
        security=wording.SECURITY[lang], requests=request_summaries(facts, k, counted_at),
        requests_total=len(facts), disputes=disputes, models=models,
        audit_chain=chain.model_dump(mode="json"), k=k)


def for_reader(session: Session, settings: Settings, specs: SpecCache, reader: Principal,
               *, via: str, what: str = "compliance_report", since: datetime | None = None,
               until: datetime | None = None, quarter: str | None = None, lang: str = "en",
               now: datetime | None = None) -> ComplianceReportPublic:
    """The report built on request for a member of staff or an outside auditor (the API,
    the page, its downloads) over the reader's period (`analytics.period_for`: an auditor
    reads one ended quarter as it stood at its end); an auditor's read is audited (`what`:
    the form read)."""
    since, until, as_of = analytics.period_for(reader, since, until, quarter, now)
    report = build(session, settings, since=since, until=until, specs=specs, lang=lang,
                   now=now, as_of=as_of)
    audit.third_party_read(session, reader, what, via, lang=report.lang,
                           since=report.since, until=report.until)
    return report


@functools.cache
def _env() -> Environment:
    """The report's templates (built once, on first use)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(["html"]))
    env.filters["markdown"] = lambda text: Markup(md.render(text or ""))
    return env


def _context(report: ComplianceReportPublic) -> dict[str, Any]:
    lang = report.lang
    t = wording.translator(lang)

    def count(v: int | None) -> str:  # a suppressed count reads "< k"
        return f"< {report.k}" if v is None else wording.integer(v, lang)

    def share(v: float | None) -> str:
        return t("not_shown") if v is None else wording.percent(v, lang)

    def days(n: float) -> str:
        shown = wording.integer(n, lang) if float(n).is_integer() else wording.decimal(n, lang)
        return t("days_one" if wording.singular(n, lang) else "days", n=shown)

    return {"r": report, "t": t, "lang": lang, "hidden": f"< {report.k}", "count": count,
            "share": share, "days": days, "when": lambda v: wording.when(v, lang),
            "number": lambda n: wording.integer(n, lang), "known": wording.TEXTS}


def render_html(report: ComplianceReportPublic) -> str:
    """The report as a document that prints well (the CLI's file, the page's download)."""
    return _env().get_template("report.html").render(**_context(report))


def render_body(report: ComplianceReportPublic) -> Markup:
    """The report's sections without the document around them (the staff page)."""
    return Markup(_env().get_template("_body.html").render(**_context(report)))


def to_json(report: ComplianceReportPublic) -> str:
    """The report as its JSON file (the CLI's and the page's download alike)."""
    return json.dumps(report.model_dump(), indent=2, ensure_ascii=False, default=str)


def write(report: ComplianceReportPublic, out: str | Path) -> tuple[Path, Path]:
    """Write the HTML and JSON files into `out` (created); their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    html, js = out / "compliance-report.html", out / "compliance-report.json"
    html.write_text(render_html(report), encoding="utf-8")
    js.write_text(to_json(report), encoding="utf-8")
    return html, js


def run(settings: Settings, out: str | Path, since: datetime | None = None,
        until: datetime | None = None, lang: str = "en"
        ) -> tuple[ComplianceReportPublic, Path, Path]:
    """The report of the configured database in `lang` (the CLI)."""
    from serving.storage import Database, upgrade

    db = Database(settings.database_url)
    try:
        if settings.migrate_on_start:
            upgrade(db.engine)
        with db.session() as session:
            report = build(session, settings, since=since, until=until, lang=lang)
    finally:
        db.dispose()
    html, js = write(report, out)
    return report, html, js
