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
from typing import Any

from sqlalchemy.orm import Session

from models.spec import ModelSpec
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

HOW = {
    "en": [
        "The model is a set of small decision trees (gradient boosting, LightGBM) trained on "
        "past customers of the data set named below: for each customer, whether they left.",
        "It starts from the same base value for everyone and adds, for each piece of your "
        "data listed below, an exact contribution (SHAP) that raises or lowers the estimate; "
        "the total becomes a probability of leaving. Your copy shows each contribution.",
        "The probability puts you in a band: high from {high}, medium from {medium}, low "
        "below. About {fraction} of customers are in the high band.",
        "A high estimate only puts a task in the queue of our retention team, with the "
        "reasons attached: a person decides whether and how to get in touch with you. "
        "Nothing changes your price, contract or service automatically.",
        "Gender, age and family situation are never used to estimate: they only serve to "
        "check that the model treats groups fairly. Your customer number is replaced by a "
        "pseudonym before any training.",
        "You can contest a prediction: a person reviews it, may correct your data and "
        "compute it again, or withdraw it; while you contest, your record is not used. You "
        "can object to profiling at any time.",
    ],
    "fr": [
        "Le modèle est un ensemble de petits arbres de décision (gradient boosting, LightGBM) "
        "entraîné sur d'anciens clients du jeu de données nommé ci-dessous : pour chacun, "
        "s'il est parti ou non.",
        "Il part de la même valeur de base pour tous et ajoute, pour chacune de vos données "
        "listées ci-dessous, une contribution exacte (SHAP) qui augmente ou diminue "
        "l'estimation ; le total devient une probabilité de départ. Votre copie montre "
        "chaque contribution.",
        "La probabilité vous place dans une catégorie : élevée à partir de {high}, moyenne à "
        "partir de {medium}, faible en dessous. Environ {fraction} des clients sont dans la "
        "catégorie élevée.",
        "Une estimation élevée ne fait qu'ajouter une tâche dans la file de notre équipe de "
        "fidélisation, avec les raisons : une personne décide s'il faut vous contacter, et "
        "comment. Rien ne modifie automatiquement votre prix, votre contrat ou votre service.",
        "Le sexe, l'âge et la situation familiale ne servent jamais à l'estimation : "
        "seulement à vérifier que le modèle traite les groupes équitablement. Votre numéro "
        "de client est remplacé par un pseudonyme avant tout entraînement.",
        "Vous pouvez contester une estimation : une personne l'examine, peut corriger vos "
        "données et la recalculer, ou la retirer ; pendant la contestation, votre dossier "
        "n'est pas utilisé. Vous pouvez vous opposer au profilage à tout moment.",
    ],
}
CANNOT = {
    "en": [
        "It cannot know your intentions: it estimates from patterns of past customers "
        "similar to you, and can be wrong about you.",
        "It only knows the data listed in this copy: not your conversations, your "
        "circumstances or anything you did not give us.",
        "It does not decide anything about you on its own, and cannot change your price, "
        "contract or service.",
        "It does not explain why customers in general leave: only what moved your estimate.",
    ],
    "fr": [
        "Il ne peut pas connaître vos intentions : il estime à partir de ce qu'ont fait "
        "d'anciens clients semblables à vous, et peut se tromper à votre sujet.",
        "Il ne connaît que les données listées dans cette copie : ni vos conversations, ni "
        "votre situation, ni rien que vous ne nous ayez pas donné.",
        "Il ne décide rien à votre sujet par lui-même et ne peut modifier ni votre prix, ni "
        "votre contrat, ni votre service.",
        "Il n'explique pas pourquoi les clients partent en général : seulement ce qui a fait "
        "varier votre estimation.",
    ],
}
# what each audited action means, for the customer's history (an action not listed here
# is shown by its code)
ACTIONS = {
    "prediction.created": ("An estimate was made about you.",
                           "Une estimation a été faite à votre sujet."),
    "customer.viewed": ("A member of staff opened your record.",
                        "Un membre du personnel a consulté votre dossier."),
    "retention_task.created": ("A contact task was created for our retention team.",
                               "Une tâche de contact a été créée pour notre équipe."),
    "retention_task.claimed": ("A member of our team took the contact task.",
                               "Un membre de notre équipe a pris la tâche de contact."),
    "retention_task.released": ("The contact task was put back in the queue.",
                                "La tâche de contact a été remise dans la file."),
    "retention_task.reassigned": ("The contact task was given to a colleague.",
                                  "La tâche de contact a été confiée à un collègue."),
    "retention_task.attempted": ("We tried to contact you.", "Nous avons tenté de vous "
                                                             "contacter."),
    "retention_task.completed": ("The contact task was closed with its outcome.",
                                 "La tâche de contact a été close avec son résultat."),
    "recourse.viewed": ("Staff looked at what would lower your estimate.",
                        "Le personnel a consulté ce qui ferait baisser votre estimation."),
    "access_link.issued": ("A link to your page was made.", "Un lien vers votre page a été "
                                                            "créé."),
    "access_link.sent": ("A link to your page was sent to you.",
                         "Un lien vers votre page vous a été envoyé."),
    "access_link.revoked": ("Your unused links were revoked.",
                            "Vos liens non utilisés ont été révoqués."),
    "contact.set": ("Your contact address was recorded.",
                    "Votre adresse de contact a été enregistrée."),
    "session.opened": ("You opened your page.", "Vous avez ouvert votre page."),
    "session.closed": ("You signed out.", "Vous vous êtes déconnecté(e)."),
    "notice.queued": ("A message to you was written.", "Un message vous a été rédigé."),
    "message.delivered": ("A message was delivered to you.", "Un message vous a été remis."),
    "dispute.opened": ("A dispute was opened.", "Une contestation a été ouverte."),
    "dispute.decided": ("A dispute was decided.", "Une contestation a été tranchée."),
    "review.judged": ("A reviewer recorded their own view before seeing the model's.",
                      "Un examinateur a noté son avis avant de voir celui du modèle."),
    "restriction.lifted": ("The restriction of your record was lifted.",
                           "La limitation de votre dossier a été levée."),
    "restriction.lift_held": ("The restriction stays until you are told.",
                              "La limitation reste en place jusqu'à ce que vous soyez "
                              "prévenu(e)."),
    "objection.recorded": ("Your objection to profiling was recorded.",
                           "Votre opposition au profilage a été enregistrée."),
    "objection.withdrawn": ("Your objection to profiling was withdrawn.",
                            "Votre opposition au profilage a été retirée."),
    "rights.opened": ("A request about your data was received.",
                      "Une demande concernant vos données a été reçue."),
    "rights.taken": ("A member of staff took your request.",
                     "Un membre du personnel a pris votre demande."),
    "rights.extended": ("The deadline of your request was extended.",
                        "Le délai de votre demande a été prolongé."),
    "rights.closed": ("Your request was answered.", "Votre demande a reçu une réponse."),
    "rights.cancelled": ("You cancelled a request.", "Vous avez annulé une demande."),
    "rights.copy_downloaded": ("You downloaded your copy.", "Vous avez téléchargé votre "
                                                            "copie."),
}


NO_RECOURSE = {
    "en": "What would change the estimate is not available yet in this version of the "
          "service; the contributions of each prediction above show what raised or lowered "
          "it.",
    "fr": "Ce qui changerait l'estimation n'est pas encore disponible dans cette version du "
          "service ; les contributions de chaque estimation ci-dessus montrent ce qui l'a "
          "augmentée ou diminuée.",
}


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
                           what=ACTIONS[e.action][lang == "fr"] if e.action in ACTIONS
                           else e.action)
                 for e in held.audit],
    )


def as_json(copy: AccessCopy) -> str:
    """The copy as a JSON document (UTF-8, indented: readable as it is)."""
    return json.dumps(copy.model_dump(mode="json"), ensure_ascii=False, indent=2)

