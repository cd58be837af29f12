"""Recourse: what would lower a customer's risk, by the model being served now.

The search itself is `models.recourse` (exact, over the features the served spec marks
actionable). This service owns the rules around it: whose record may be searched (an
objecting customer is not profiled; a restricted record is not used while its dispute is
open; an erased customer no longer exists; a withdrawn prediction is not in use), which
model answers (the served one, with the served thresholds), and what is audited (a staff
read through the API: `recourse.viewed`; the customer page's own view is audited as
`customer.viewed` by the customers service).

`recourse_for_customer` is the one entry point other domains call (the staff page, the
customer's page, the customer's copy of their data).
"""

from __future__ import annotations

import json
import threading

from sqlalchemy.orm import Session

from models import InvalidFeatures
from models.recourse import Planner, Recourse
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.config import Settings
from serving.customers import service as customers
from serving.errors import NotFound, must_find
from serving.modelhost import ModelHost, ServedModel
from serving.recourse.schemas import (
    RecourseChangePublic,
    RecourseContributionPublic,
    RecourseOptionPublic,
    RecoursePublic,
    RecourseSearchPublic,
    RecourseStatus,
)
from serving.routing import risk_band
from serving.scoring.schemas import ModelRef
from serving.storage.tables import Customer, Prediction

# a member of staff read a customer's recourse through the API (the page's view is
# `customer.viewed`, written when the page is opened)
RECOURSE_VIEWED = "recourse.viewed"

# The answer in one sentence per status, for the API (pages word it for their reader
# through the i18n catalogs).
SUMMARIES: dict[str, tuple[str, str]] = {
    "options": (
        "These changes would bring the estimate below the high-risk band, smallest change "
        "first (each re-scored exactly by the model in use).",
        "Ces changements feraient passer l'estimation sous la tranche de risque élevé, du "
        "plus petit au plus grand (chacun recalculé exactement par le modèle utilisé)."),
    "lowers_only": (
        "No change of what can change brings the estimate below the high-risk band; these "
        "lower it the most.",
        "Aucun changement possible ne fait passer l'estimation sous la tranche de risque "
        "élevé ; ceux-ci la baissent le plus."),
    "none": (
        "Nothing that can change would lower this estimate: it rests on facts that cannot "
        "be changed.",
        "Rien de ce qui peut changer ne baisserait cette estimation : elle repose sur des "
        "faits qui ne peuvent pas changer."),
    "no_levers": (
        "The model in use marks nothing as something that can change (its training schema "
        "has no actionable feature), so nothing is proposed.",
        "Le modèle utilisé ne désigne rien comme pouvant changer (son schéma d'entraînement "
        "n'a aucune donnée modifiable) : rien n'est donc proposé."),
    "already_below": (
        "The estimate is already below the high-risk band: there is nothing to propose.",
        "L'estimation est déjà sous la tranche de risque élevé : il n'y a rien à proposer."),
    "restricted": (
        "A dispute about this record is open: the record is not used until a reviewer "
        "decides, so nothing is proposed.",
        "Une contestation de ce dossier est en cours : il n'est pas utilisé avant la décision "
        "d'un examinateur, rien n'est donc proposé."),
    "objected": (
        "The customer objected to profiling: they are not profiled, so nothing is proposed.",
        "Le client s'est opposé au profilage : il n'est pas profilé, rien n'est donc "
        "proposé."),
    "no_prediction": (
        "There is no estimate in use for this customer.",
        "Aucune estimation n'est en vigueur pour ce client."),
    "model_changed": (
        "The stored record does not fit the model now in use: score the customer again.",
        "Le dossier enregistré ne correspond pas au modèle utilisé : recalculez le score du "
        "client."),
}

_planners: dict[tuple[str, str, int], Planner] = {}
_planners_lock = threading.Lock()


def planner(served: ServedModel) -> Planner:
    """The search for the served model (its levers and split thresholds read once per
    model version and process)."""
    key = (served.name, served.version, id(served.model))
    with _planners_lock:
        found = _planners.get(key)
        if found is None:
            if len(_planners) >= 4:  # older models after reloads
                _planners.clear()
            found = _planners[key] = Planner(served.model)
        return found


def summary(status: str, lang: str = "en") -> str:
    """The plain sentence of a status in `lang`."""
    en, fr = SUMMARIES[status]
    return fr if lang == "fr" else en


def _empty(ref: str, status: RecourseStatus, served: ServedModel, lang: str,
           prediction_id: str | None = None) -> RecoursePublic:
    return RecoursePublic(customer_ref=ref, status=status, summary=summary(status, lang),
                          prediction_id=prediction_id,
                          model=ModelRef(name=served.name, version=served.version,
                                         contract_version=served.contract_version),
                          target=served.thresholds.high)


def recourse_for_customer(session: Session, served: ServedModel, customer_ref: str,
                          lang: str = "en") -> RecoursePublic:
    """What would lower the risk of the customer `customer_ref`, searched on the values of
    their latest prediction in use with the served model; or, with no option, why not
    (`status` and a plain `summary`). Writes nothing and audits nothing: callers audit
    their own reads. 404 when no record is held (never scored, or erased)."""
    customer = must_find(session.get(Customer, customer_ref) if customer_ref else None,
                         "no such customer (customers appear once they are scored; an erased "
                         "customer is not kept)")
    ref = customer.customer_ref
    if customer.objected:
        return _empty(ref, "objected", served, lang)
    if customer.restricted:
        return _empty(ref, "restricted", served, lang)
    row = (session.get(Prediction, customer.latest_prediction_id)
           if customer.latest_prediction_id else None)
    if row is None or row.withdrawn:
        return _empty(ref, "no_prediction", served, lang)
    values = json.loads(row.features)
    try:
        found = planner(served).search(values, served.thresholds.high, lang)
    except InvalidFeatures:
        return _empty(ref, "model_changed", served, lang, row.id)
    return _public(ref, row.id, served, found, lang)


def _public(ref: str, prediction_id: str, served: ServedModel, found: Recourse,
            lang: str) -> RecoursePublic:
    t = served.thresholds
    return RecoursePublic(
        customer_ref=ref, status=found.status, summary=summary(found.status, lang),
        prediction_id=prediction_id,
        model=ModelRef(name=served.name, version=served.version,
                       contract_version=served.contract_version),
        score=found.score, risk_band=risk_band(found.score, t), target=found.target,
        options=[RecourseOptionPublic(
            changes=[RecourseChangePublic(**vars(c)) for c in o.changes],
            score=o.score, risk_band=risk_band(o.score, t), margin=o.margin,
            distance=o.distance,
            contributions=[RecourseContributionPublic(**vars(c)) for c in o.contributions],
            others_shift=o.others_shift, features=o.values,
        ) for o in found.options],
        search=RecourseSearchPublic(levers=found.levers, candidates=found.candidates,
                                    max_changes=found.max_changes, complete=found.complete),
    )


def for_staff(session: Session, settings: Settings, served: ServedModel, customer_id: str,
              principal: Principal, lang: str = "en") -> RecoursePublic:
    """A customer's recourse read by a member of staff through the API (by the customer's
    own id): answered, then audited as `recourse.viewed` with its status (pseudonymous)."""
    customer = customers.find(session, settings, customer_id)
    out = recourse_for_customer(session, served, customer.customer_ref, lang)
    audit.read(session, principal, RECOURSE_VIEWED, customer_ref=out.customer_ref,
               objects={"status": out.status, "options": len(out.options),
                        "prediction_id": out.prediction_id}, model=served)
    return out


def for_me(session: Session, served: ServedModel, principal: Principal,
           lang: str = "en") -> RecoursePublic:
    """The customer's own recourse: what would change their estimate."""
    if not principal.customer_ref:
        raise NotFound("no record is kept about you")
    return recourse_for_customer(session, served, principal.customer_ref, lang)


def for_page(session: Session, host: ModelHost, customer_ref: str,
             lang: str = "en") -> RecoursePublic | None:
    """`recourse_for_customer` for a page: None while no model is served (the page shows
    everything else), the customer's absence left to the page's own 404."""
    if not host.ready:
        return None
    try:
        return recourse_for_customer(session, host.current(), customer_ref, lang)
    except NotFound:
        return None

