"""What a customer reads about a prediction: plain words, purpose and rights (EN, FR)."""

from __future__ import annotations

from typing import Any

from models.wording import shown_percent
from serving.scoring.schemas import PredictionPublic

BANDS = {"en": {"low": "low", "medium": "medium", "high": "high"},
         "fr": {"low": "faible", "medium": "moyen", "high": "élevé"}}

PURPOSE = {
    "en": "We estimate how likely each customer is to leave us so that a person in our "
          "retention team can get in touch with customers at risk and decide, with them, "
          "what might help. The estimate never changes your price, your contract or your "
          "service by itself, and it is used for nothing else.",
    "fr": "Nous estimons la probabilité que chaque client nous quitte afin qu'une personne "
          "de notre équipe de fidélisation puisse contacter les clients concernés et "
          "décider, avec eux, de ce qui pourrait les aider. Cette estimation ne modifie "
          "jamais d'elle-même votre prix, votre contrat ou votre service, et ne sert à rien "
          "d'autre.",
}

RIGHTS = {
    "en": [
        ("access", "You can see this prediction, the data it used and why.",
         "GET /v1/me/prediction"),
        ("rectification", "If a piece of data is wrong, tell us the right value: a reviewer "
         "corrects it and the prediction is computed again.", "POST /v1/disputes"),
        ("restriction", "While you contest a prediction, your record is not used: no "
         "contact, no risk list, no training.", "POST /v1/disputes"),
        ("human_review", "A person, not a machine, reviews your request and decides within "
         "one month.", "POST /v1/disputes with wants_human_review"),
        ("objection", "You can object to being profiled at all: we then stop scoring you. "
         "You can withdraw the objection.", "POST /v1/objections"),
        ("erasure", "You can ask us to erase your data, on this page: it is carried out "
         "after a few days in which you can still cancel it.", "POST /v1/me/rights-requests"),
    ],
    "fr": [
        ("access", "Vous pouvez voir cette estimation, les données utilisées et pourquoi.",
         "GET /v1/me/prediction"),
        ("rectification", "Si une donnée est fausse, indiquez-nous la bonne valeur : une "
         "personne la corrige et l'estimation est recalculée.", "POST /v1/disputes"),
        ("restriction", "Pendant votre contestation, votre dossier n'est pas utilisé : ni "
         "contact, ni liste de risque, ni entraînement.", "POST /v1/disputes"),
        ("human_review", "Une personne, et non une machine, examine votre demande et décide "
         "dans un délai d'un mois.", "POST /v1/disputes avec wants_human_review"),
        ("objection", "Vous pouvez vous opposer à tout profilage : nous cessons alors de "
         "vous évaluer. Vous pouvez retirer cette opposition.", "POST /v1/objections"),
        ("erasure", "Vous pouvez demander l'effacement de vos données, sur cette page : il "
         "est effectué après quelques jours pendant lesquels vous pouvez encore l'annuler.",
         "POST /v1/me/rights-requests"),
    ],
}


def rights(lang: str) -> list[dict[str, Any]]:
    return [{"right": r, "text": t, "how": h} for r, t, h in RIGHTS[_lang(lang)]]


def _lang(lang: str) -> str:
    return "fr" if lang == "fr" else "en"


# The summary's sentences in each language; `summary` decides which are said.
SUMMARY = {
    "en": {
        "none": "We hold no prediction about you.",
        "estimate": "On {day}, our model estimated the chance that you will leave in the "
                    "coming months at {pct} ({band} risk).",
        "reasons": "The main reasons: ",
        "no_decision": "This estimate never triggers an automatic decision: at most, a "
                       "person from our team may get in touch with you.",
        "lift_pending": "Your dispute has been decided: your record stays unused until we "
                        "have sent you the decision.",
        "restricted": "Your dispute is being reviewed: your record is not used until then.",
        "objected": "You objected to profiling: we no longer score you.",
    },
    "fr": {
        "none": "Nous ne détenons aucune estimation vous concernant.",
        "estimate": "Le {day}, notre modèle a estimé à {pct} la probabilité que vous "
                    "quittiez nos services dans les prochains mois (risque {band}).",
        "reasons": "Principales raisons : ",
        "no_decision": "Cette estimation ne déclenche aucune décision automatique : au "
                       "plus, une personne de notre équipe peut vous contacter.",
        "lift_pending": "Votre contestation a été tranchée : votre dossier reste inutilisé "
                        "jusqu'à ce que nous vous ayons envoyé la décision.",
        "restricted": "Votre contestation est en cours d'examen : votre dossier n'est pas "
                      "utilisé d'ici là.",
        "objected": "Vous vous êtes opposé(e) au profilage : nous ne vous évaluons plus.",
    },
}
DAY_FORMAT = {"en": "%d %B %Y", "fr": "%d/%m/%Y"}


def summary(p: PredictionPublic | None, restricted: bool, objected: bool, lang: str,
            lift_pending: bool = False) -> str:
    """The prediction in a few plain sentences. `lift_pending`: the dispute is decided but
    the restriction waits for the decision notice to be sent (Art. 18(3))."""
    lang = _lang(lang)
    words = SUMMARY[lang]
    if p is None:
        parts = [words["none"]]
    else:
        parts = [words["estimate"].format(
            day=p.created_at.strftime(DAY_FORMAT[lang]),
            pct=shown_percent(p.score, lang),  # never 0 % nor 100 %
            band=BANDS[lang][p.risk_band])]
        top = [c.text for c in p.contributions[:3]]
        if top:
            parts.append(words["reasons"] + " ".join(top))
        parts.append(words["no_decision"])
    if restricted:
        parts.append(words["lift_pending" if lift_pending else "restricted"])
    if objected:
        parts.append(words["objected"])
    return " ".join(parts)
