"""The compliance report (issue 18, GDPR Arts. 5(2) and 30): `make compliance-report`
(`python -m serving.cli compliance-report --out DIR [--since --until]`) writes
`compliance-report.html` (prints well) and `compliance-report.json`:

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

Counts only: no pseudonym, id or free text of a customer appears in it.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from serving.analytics import service as analytics
from serving.audit import service as audit
from serving.config import Settings
from serving.specs import SpecCache
from serving.storage import analytics as analytics_store
from serving.storage import compliance as store

TEMPLATES = Path(__file__).parent / "templates"
CLOSED = ("done", "refused", "cancelled")
KINDS = ("access", "erasure", "rectification", "restriction", "objection")

PURPOSES = [
    "Estimate which customers may leave (churn risk), with the exact reasons of each "
    "estimate, so that a person in the retention team may contact them; no automated "
    "offer, message or price change follows from a score.",
    "Let customers see their prediction, contest it, ask for a human review, object to "
    "profiling and exercise their rights; decide their disputes (reviewers).",
    "Keep a tamper-evident record of what was done (accountability) and measure the "
    "model's quality and its gaps between groups (fairness audit).",
]
PEOPLE = ["customers of the operator (the customer base scored for retention)",
          "staff of the operator (agents, reviewers, administrators), by name in the "
          "audit log"]
SECURITY = [
    "Customer ids pseudonymised with a keyed hash (HMAC-SHA256, CHURN_PSEUDONYM_KEY) "
    "everywhere but the customer record itself; no raw id reaches training, MLflow, the "
    "audit log or the access log.",
    "Sensitive attributes (gender, age, family status) are never model features: they "
    "are used only to audit the model for bias, and are not held by the service.",
    "Append-only audit log, hash-chained (each row seals the one before), UPDATE and "
    "DELETE refused by database triggers; verified in this report.",
    "Staff tokens, customer links and sessions stored only as hashes; links single-use "
    "and expiring; sessions revoked by sign-out, deactivation and erasure.",
    "Roles: agents, reviewers, administrators, the integration account; each route "
    "checks its role; pages protected against cross-site request forgery.",
    "Production refuses to start with development or short secrets.",
    "Rate limits on the customer routes; request bodies capped; access log without "
    "paths, query strings or tokens.",
    "Records restricted while contested (no listing, contact or training use); erasure "
    "leaves only the pseudonym and its date; retention schedule purged nightly.",
]


@dataclass
class ModelServed:
    name: str
    version: str
    first_served_at: str
    dataset: str | None
    features: list[dict[str, str]]
    card: str | None  # the model card (Markdown) from MLflow
    card_problem: str | None = None


@dataclass
class RequestSummary:
    kind: str
    opened: int | None
    answered: int | None
    answered_in_time: int | None
    extended: int | None
    open_overdue: int | None
    in_time_rate: float | None


@dataclass
class ComplianceReport:
    generated_at: str
    since: str | None
    until: str | None
    controller: str
    purposes: list[str]
    legal_basis: str
    people: list[str]
    data_categories: list[dict[str, str]]
    recipients: list[str]
    retention: dict[str, int]
    security: list[str]
    requests: list[RequestSummary]
    requests_total: int
    disputes: dict[str, Any]
    models: list[ModelServed] = field(default_factory=list)
    audit_chain: dict[str, Any] = field(default_factory=dict)
    k: int = 5

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hide(n: int, k: int) -> int | None:
    return None if 0 < n < k else n


def request_summaries(facts: list[store.RequestFacts], k: int,
                      now: datetime) -> list[RequestSummary]:
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
        out.append(RequestSummary(kind, _hide(len(mine), k), _hide(len(answered), k),
                                  _hide(in_time, k), _hide(extended, k), _hide(overdue, k),
                                  r.rate))
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


def build(session: Session, settings: Settings, *, since: datetime | None = None,
          until: datetime | None = None, specs: SpecCache | None = None,
          now: datetime | None = None) -> ComplianceReport:
    """Everything the report says, read from the database, the settings and MLflow."""
    now = now or datetime.now(UTC)
    specs = specs or SpecCache()
    k = settings.analytics_min_cell
    models, categories, seen = [], [], set()
    for name, version, first, _ in analytics_store.served_models(session):
        spec = specs.get(session, name, version)
        features = [{"name": f.name, "label": f.display_label("en"), "kind": f.kind,
                     "description": f.description or "",
                     "purpose": f.purpose_or_missing("en")} for f in spec.features]
        for f in features:
            if f["name"] not in seen:
                seen.add(f["name"])
                categories.append(f)
        card, problem = _card(settings, name, version)
        models.append(ModelServed(name, version, first.isoformat(timespec="seconds"),
                                  spec.dataset, features, card, problem))
    roles = store.staff_by_role(session)
    recipients = [f"{n} active {role} account(s) of the operator" for role, n in
                  sorted(roles.items())] + [
        "the customer themselves (their page, their copy, notices by "
        + ("SMTP" if settings.smtp_url else "the development mailbox") + ")",
        "no third party receives customer data from this service"]
    attrs, sizes = analytics.attributes_from_settings(settings)
    a = analytics.compute(session, specs, k, since=since, until=until, now=now,
                          attributes=attrs, group_sizes=sizes)
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
    chain = audit.verify(session)
    return ComplianceReport(
        generated_at=now.isoformat(timespec="seconds"),
        since=since.isoformat() if since else None, until=until.isoformat() if until else None,
        controller=settings.controller_name, purposes=PURPOSES,
        legal_basis=settings.legal_basis, people=PEOPLE, data_categories=categories,
        recipients=recipients,
        retention={"predictions_days": settings.retention_predictions_days,
                   "tasks_days": settings.retention_tasks_days,
                   "disputes_days": settings.retention_disputes_days,
                   "notices_days": settings.retention_notices_days,
                   "link_messages_days": settings.retention_outbox_days,
                   "purge_after_batch": int(settings.purge_after_batch)},
        security=SECURITY, requests=request_summaries(facts, k, now),
        requests_total=len(facts), disputes=disputes, models=models,
        audit_chain=chain.model_dump(mode="json"), k=k)


def render_html(report: ComplianceReport) -> str:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(["html"]))
    env.filters["markdown"] = lambda text: Markup(md.render(text or ""))
    return env.get_template("report.html").render(r=report, hidden=f"< {report.k}")


def write(report: ComplianceReport, out: str | Path) -> tuple[Path, Path]:
    """Write the HTML and JSON files into `out` (created); their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    html, js = out / "compliance-report.html", out / "compliance-report.json"
    html.write_text(render_html(report), encoding="utf-8")
    js.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str),
                  encoding="utf-8")
    return html, js


def run(settings: Settings, out: str | Path, since: datetime | None = None,
        until: datetime | None = None) -> tuple[ComplianceReport, Path, Path]:
    """The report of the configured database (the CLI)."""
    from serving.storage import Database, upgrade

    db = Database(settings.database_url)
    try:
        if settings.migrate_on_start:
            upgrade(db.engine)
        with db.session() as session:
            report = build(session, settings, since=since, until=until)
    finally:
        db.dispose()
    html, js = write(report, out)
    return report, html, js
