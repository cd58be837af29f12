"""The contestability services the pages call (issue 4: disputes, reviews, objections,
audit), behind one small adapter so the pages do not depend on their module layout.

Every function calls a service of `serving/` — the same one the JSON API calls — and
only reshapes its answer for the templates. When a service is not there (yet), the
function raises `Unavailable` and the page says the step cannot be done online.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from serving.errors import DomainError, NotFound

# True once every call below goes to a real service (tests use stand-ins until then).
SERVICES_READY = False


class Unavailable(DomainError):
    """The service behind this step does not exist yet: the page says so."""

    status_code = 501
    code = "not_available"


def _get(obj: Any, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if isinstance(obj, dict) and key in obj:
            return obj[key]
        if hasattr(obj, key):
            return getattr(obj, key)
    return default


@dataclass
class Claimed:
    feature: str
    claimed_value: Any
    corrected_value: Any = None


@dataclass
class DisputeView:
    """A dispute as the pages show it."""

    id: str
    status: str
    received_at: datetime | None
    due_by: datetime | None
    prediction_id: str | None = None
    statement: str = ""
    wants_human_review: bool = False
    contested: list[Claimed] = field(default_factory=list)
    decision: str | None = None
    rationale: str | None = None
    decided_at: datetime | None = None
    new_prediction_id: str | None = None
    customer_ref: str | None = None
    customer_id: str | None = None
    raw: Any = None

    @property
    def reference(self) -> str:
        return _get(self.raw, "reference", default=None) or self.id.split("-")[0].upper()

    @property
    def days_left(self) -> int | None:
        if self.due_by is None:
            return None
        return (self.due_by - datetime.now(UTC)).days

    @property
    def is_open(self) -> bool:
        return self.status in ("open", "in_review", "pending")


def view(d: Any) -> DisputeView:
    contested = [
        Claimed(feature=str(_get(c, "feature")),
                claimed_value=_get(c, "claimed_value", "value"),
                corrected_value=_get(c, "corrected_value"))
        for c in (_get(d, "contested_features", "contested", default=[]) or [])
    ]
    decision = _get(d, "decision")
    if decision is not None and not isinstance(decision, str):
        decision = _get(decision, "decision", "outcome")
    return DisputeView(
        id=str(_get(d, "dispute_id", "id")),
        status=str(_get(d, "status", default="open")),
        received_at=_get(d, "received_at", "created_at"),
        due_by=_get(d, "due_by"),
        prediction_id=_get(d, "prediction_id"),
        statement=_get(d, "statement", default="") or "",
        wants_human_review=bool(_get(d, "wants_human_review", default=False)),
        contested=contested,
        decision=decision if isinstance(decision, str) else _get(d, "outcome"),
        rationale=_get(d, "rationale") or _get(_get(d, "decision"), "rationale"),
        decided_at=_get(d, "decided_at"),
        new_prediction_id=_get(d, "new_prediction_id")
        or _get(_get(d, "new_prediction"), "prediction_id"),
        customer_ref=_get(d, "customer_ref"),
        customer_id=_get(d, "customer_id"),
        raw=d,
    )


# -- the calls ------------------------------------------------------------------------------
# Each one is the page's only way to the issue-4 services. Until a service exists the
# call raises `Unavailable` (reads answer "nothing yet").
def create_dispute(request: Any, session: Any, principal: Any, prediction_id: str,
                   contested: list[dict[str, Any]], statement: str,
                   wants_human_review: bool, idempotency_key: str) -> DisputeView:
    raise Unavailable("disputes cannot be filed online yet")


def customer_disputes(request: Any, session: Any, principal: Any) -> list[DisputeView]:
    return []


def dispute(request: Any, session: Any, principal: Any, dispute_id: str) -> DisputeView:
    raise NotFound("no such request")


def review_queue(request: Any, session: Any, principal: Any) -> list[DisputeView]:
    raise Unavailable("the review queue is not available yet")


def decide(request: Any, session: Any, principal: Any, dispute_id: str, decision: str,
           rationale: str, corrected: dict[str, Any]) -> DisputeView:
    raise Unavailable("decisions cannot be recorded yet")


def object_to_profiling(request: Any, session: Any, principal: Any) -> None:
    raise Unavailable("objections cannot be recorded online yet")


def withdraw_objection(request: Any, session: Any, principal: Any) -> None:
    raise Unavailable("objections cannot be withdrawn online yet")


def audit_events(request: Any, session: Any, principal: Any, limit: int = 100) -> list[Any]:
    raise Unavailable("the audit log is not available yet")


def audit_verify(request: Any, session: Any, principal: Any) -> Any:
    raise Unavailable("the audit log is not available yet")


# -- the re-score preview -------------------------------------------------------------------
@dataclass
class Preview:
    """What a rectification would give: new score and band, each contribution before and
    after. Computed with the served model; nothing is stored (the decision does that)."""

    score_before: float
    score_after: float
    band_before: str
    band_after: str
    rows: list[dict[str, Any]]
    contributions: list[dict[str, Any]]
    model: str


def preview_rescore(session: Any, specs: Any, served: Any, row: Any,
                    corrected: dict[str, Any]) -> Preview:
    import json

    from serving.routing import risk_band
    from serving.scoring import explain

    before_spec = specs.get(session, row.model_name, row.model_version)
    values = json.loads(row.features)
    before = explain.contributions(before_spec, values, explain.unpack_shap(row.shap), "en")
    new_values = {f: values.get(f) for f in served.spec.feature_names} | corrected
    ex = served.model.explain_records([new_values])
    after = explain.contributions(served.spec, new_values, ex.shap[0], "en")
    by_before = {c["feature"]: c for c in before}
    rows = []
    for c in after:
        b = by_before.get(c["feature"])
        spec_f = served.spec.feature(c["feature"])
        rows.append({
            "feature": c["feature"], "label": c["label"],
            "value_before": spec_f.display_value(b["value"], "en") if b else "",
            "value_after": spec_f.display_value(c["value"], "en"),
            "before": b["shap"] if b else 0.0, "after": c["shap"],
            "change": c["shap"] - (b["shap"] if b else 0.0),
            "corrected": c["feature"] in corrected,
        })
    rows.sort(key=lambda r: (not r["corrected"], -abs(r["change"])))
    score = float(ex.score[0])
    return Preview(score_before=row.score, score_after=score, band_before=row.risk_band,
                   band_after=risk_band(score, served.thresholds), rows=rows,
                   contributions=after, model=f"{served.name} v{served.version}")


@dataclass
class AuditRow:
    seq: Any
    at: Any
    action: str
    actor: str
    role: str
    customer_ref: str | None
    objects: str
    hash: str | None


@dataclass
class ChainCheck:
    ok: bool
    checked: int
    first_broken: Any = None
    detail: str | None = None


def audit_row(e: Any) -> AuditRow:
    ids = _get(e, "object_ids", "objects", default=None)
    if isinstance(ids, dict):
        ids = ", ".join(f"{k}={v}" for k, v in ids.items() if v)
    return AuditRow(seq=_get(e, "seq", "id"), at=_get(e, "at", "created_at", "time"),
                    action=str(_get(e, "action", "event", "kind", default="")),
                    actor=str(_get(e, "actor", default="")), role=str(_get(e, "role", default="")),
                    customer_ref=_get(e, "customer_ref"), objects=str(ids or ""),
                    hash=_get(e, "hash"))


def chain_check(v: Any) -> ChainCheck:
    return ChainCheck(ok=bool(_get(v, "ok", "valid", default=False)),
                      checked=int(_get(v, "checked", "rows", "count", default=0) or 0),
                      first_broken=_get(v, "first_broken", "broken_at"),
                      detail=_get(v, "detail", "reason"))
