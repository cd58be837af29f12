"""The customer's own copy (GDPR Art. 15): everything held about them, and how it is used.

Built from `storage.rights.held_about`, the one query of every table that holds rows about
a customer, in their language: each prediction with its explanation, model version and
the data it used; disputes and their decisions; objections; retention tasks about them
and their outcomes; the messages sent to them; their rights requests; their access links
and sessions (times only, never a secret); the audit history of what was done with their
data (who: "you", "staff" or "system", never a member of staff's identity). Then "the
procedure and principles actually applied" (Art. 15(1)(h) as the CJEU read it in
C-203/22): what the model is for, how it decides, the features it uses and why, the bands,
what it cannot do; what would change the estimate (recourse); the DPO and the authority.

Only the customer's own session downloads it (the routes take the customer principal, and
the service reads only that principal's pseudonym): nothing about anyone else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from models.spec import ModelSpec
from serving import catalogue
from serving.auth.principal import Principal
from serving.config import Settings
from serving.customers import privacy
from serving.disputes import service as disputes
from serving.errors import Forbidden, NotFound
from serving.rights import contacts
from serving.rights import service as rights
from serving.rights.schemas import (
    AccessCopy,
    DataUsed,
    EventHeld,
    FeatureUsed,
    LinkHeld,
    MessageHeld,
    ModelUsed,
    ObjectionHeld,
    PredictionHeld,
    Procedure,
    Recourse,
    SessionHeld,
    TaskHeld,
)
from serving.scoring import service as scoring
from serving.specs import SpecCache
from serving.storage import rights as store

HERE = Path(__file__).resolve().parent
# the procedure and principles actually applied, in each language ({high}, {medium} and
# {fraction}: the bands of the model in use), and what stands when no recourse is worked out
_WORDS = catalogue.load([HERE / "copy.yaml"])
HOW: dict[str, list[str]] = _WORDS["how"]
CANNOT: dict[str, list[str]] = _WORDS["cannot"]
NO_RECOURSE: dict[str, str] = _WORDS["no_recourse"]
# what each audited action means, for the customer's history (an action not listed here
# is shown by its code)
ACTIONS: dict[str, dict[str, str]] = catalogue.load([HERE / "actions.yaml"])


def _lang(lang: str) -> str:
    return "fr" if lang == "fr" else "en"


def _percent(x: float, lang: str) -> str:
    text = f"{100 * x:.0f} %"
    return text.replace(".", ",") if lang == "fr" else text.replace(" %", "%")


def _model_used(name: str, version: str, spec: ModelSpec, lang: str) -> ModelUsed:
    return ModelUsed(
        name=name, version=version, dataset=spec.dataset, trained_at=spec.trained_at,
        training_rows=spec.training_rows,
        # the same words as the customer's page: the dataset schema's, in the reader's
        # language (an older spec's plain-text description is English, and says so)
        features=[FeatureUsed(feature=f.name, label=f.display_label(lang),
                              description=f.description_text(lang),
                              description_lang=f.description_lang(lang),
                              purpose=f.purpose_or_missing(lang),
                              purpose_lang=f.purpose_lang(lang))
                  for f in spec.features],
        high_threshold=spec.decision.high_threshold,
        medium_threshold=spec.decision.medium_threshold,
        contact_fraction=spec.decision.contact_fraction,
        calibration=spec.calibration.method)


def _recourse(session: Session, host: Any, ref: str, lang: str) -> Recourse:
    """What would change the estimate, from the recourse service (issue 16): its plain
    summary and each option's changes with the estimate they would give."""
    from serving.recourse import service as recourse

    found = recourse.for_page(session, host, ref, lang) if host is not None else None
    if found is None:
        return Recourse(available=False, text=NO_RECOURSE[lang])
    options = [{"changes": [c.text for c in o.changes], "score": o.score,
                "risk_band": o.risk_band} for o in found.options]
    return Recourse(available=True, text=found.summary, options=options)


def _no_staff_ids(d: Any) -> Any:
    """A dispute as the copy shows it: the reviewer is "staff", never their account id."""
    if d.decision is not None:
        d.decision.decided_by = "staff"
    return d


def _generic_handler(r: Any) -> Any:
    """A request as the copy shows it: who handled it by function, not by name."""
    if r.handler and r.handler not in (rights.SELF_SERVICE,):
        r.handler = "system" if r.handler.startswith("system:") else "staff"
    return r


def build(session: Session, specs: SpecCache, settings: Settings, principal: Principal,
          lang: str = "en", now: datetime | None = None, host: Any = None) -> AccessCopy:
    """The customer's copy, in `lang`; only in their own session (staff, even assisting a
    customer on the phone, never read it: 403). `host`: the model host, for what would
    change the estimate (without it, or without a served model, that section says so)."""
    if principal.kind != "customer" or not principal.customer_ref \
            or principal.assisted_by is not None:
        raise Forbidden("the copy is downloaded by the customer, in their own session")
    lang = _lang(lang)
    now = now or datetime.now(UTC)
    ref = principal.customer_ref
    held = store.held_about(session, ref)
    if held.customer is None:
        raise NotFound("no record is kept about you")

    predictions, models = [], {}
    for p in held.predictions:
        spec = specs.get(session, p.model_name, p.model_version)
        models.setdefault((p.model_name, p.model_version), spec)
        values = json.loads(p.features)
        predictions.append(PredictionHeld(
            prediction=scoring.public(session, specs, p, lang), source=p.source,
            withdrawn=bool(p.withdrawn),
            data_used=[DataUsed(label=f.display_label(lang), value=values.get(f.name),
                                shown=f.display_value(values.get(f.name), lang))
                       for f in spec.features]))
    used = [_model_used(n, v, s, lang) for (n, v), s in models.items()]
    first = used[-1] if used else None
    how = [h.format(high=_percent(first.high_threshold, lang),
                    medium=_percent(first.medium_threshold, lang),
                    fraction=_percent(first.contact_fraction, lang)) if first else h
           for h in HOW[lang] if first or "{high}" not in h]

    def by(actor: str, role: str) -> str:
        if actor == f"customer:{ref}" or role == "customer":
            return "you"
        return "system" if role == "system" else "staff"

    return AccessCopy(
        generated_at=now, lang=lang, customer_ref=ref,
        customer_id=held.customer.external_id, restricted=held.customer.restricted,
        objected=held.customer.objected, first_seen_at=held.customer.created_at,
        contact_address=held.contact.address if held.contact else None,
        contact_lang=held.contact.lang if held.contact else None,
        dpo=contacts.dpo(settings, lang), authority=contacts.authority(settings, lang),
        procedure=Procedure(purpose=privacy.PURPOSE[lang], how_it_decides=how,
                            what_it_cannot_do=CANNOT[lang], models=used),
        recourse=_recourse(session, host, ref, lang),
        predictions=predictions,
        disputes=[_no_staff_ids(disputes.dispute_public(session, specs, d, lang, now))
                  for d in held.disputes],
        objections=[ObjectionHeld(objected_at=o.objected_at,
                                  by_phone=not o.objected_by.startswith("customer:"),
                                  withdrawn_at=o.withdrawn_at) for o in held.objections],
        tasks=[TaskHeld(task_id=t.id, prediction_id=t.prediction_id, status=t.status,
                        created_at=t.created_at, claimed_at=t.claimed_at,
                        completed_at=t.completed_at, outcome=t.outcome, note=t.note)
               for t in held.tasks],
        messages=[MessageHeld(message_id=m.id, kind=m.kind, subject=m.subject,
                              address=m.address, status=m.status, created_at=m.created_at,
                              sent_at=m.sent_at) for m in held.messages],
        rights_requests=[_generic_handler(rights.public(session, r, now, {}))
                         for r in held.rights_requests],
        access_links=[LinkHeld(channel=k.channel, created_at=k.created_at,
                               expires_at=k.expires_at, used_at=k.used_at,
                               revoked_at=k.revoked_at) for k in held.access_links],
        sessions=[SessionHeld(created_at=s.created_at, expires_at=s.expires_at,
                              revoked_at=s.revoked_at) for s in held.sessions],
        idempotency_keys=[k.key for k in held.idempotency_keys],
        history=[EventHeld(seq=e.seq, at=e.at, action=e.action, by=by(e.actor, e.role),
                           what=ACTIONS[e.action][lang] if e.action in ACTIONS
                           else e.action)
                 for e in held.audit],
    )


def as_json(copy: AccessCopy) -> str:
    """The copy as a JSON document (UTF-8, indented: readable as it is)."""
    return json.dumps(copy.model_dump(mode="json"), ensure_ascii=False, indent=2)

