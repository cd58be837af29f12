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


def summary(p: PredictionPublic | None, restricted: bool, objected: bool, lang: str,
            lift_pending: bool = False) -> str:
    """The prediction in a few plain sentences. `lift_pending`: the dispute is decided but
    the restriction waits for the decision notice to be sent (Art. 18(3))."""
    fr = _lang(lang) == "fr"
    parts = []
    if p is None:
        parts.append("Nous ne détenons aucune estimation vous concernant." if fr
                     else "We hold no prediction about you.")
    else:
        pct = shown_percent(p.score, _lang(lang))  # never 0 % nor 100 %
        day = p.created_at.strftime("%d/%m/%Y" if fr else "%d %B %Y")
        band = BANDS[_lang(lang)][p.risk_band]
        top = [c.text for c in p.contributions[:3]]
        if fr:
            parts.append(f"Le {day}, notre modèle a estimé à {pct} la probabilité que vous "
                         f"quittiez nos services dans les prochains mois (risque {band}).")
            if top:
                parts.append("Principales raisons : " + " ".join(top))
            parts.append("Cette estimation ne déclenche aucune décision automatique : au "
                         "plus, une personne de notre équipe peut vous contacter.")
        else:
            parts.append(f"On {day}, our model estimated the chance that you will leave in "
                         f"the coming months at {pct} ({band} risk).")
            if top:
                parts.append("The main reasons: " + " ".join(top))
            parts.append("This estimate never triggers an automatic decision: at most, a "
                         "person from our team may get in touch with you.")
    if restricted and lift_pending:
        parts.append("Votre contestation a été tranchée : votre dossier reste inutilisé "
                     "jusqu'à ce que nous vous ayons envoyé la décision." if fr else
                     "Your dispute has been decided: your record stays unused until we have "
                     "sent you the decision.")
    elif restricted:
        parts.append("Votre contestation est en cours d'examen : votre dossier n'est pas "
                     "utilisé d'ici là." if fr else
                     "Your dispute is being reviewed: your record is not used until then.")
    if objected:
        parts.append("Vous vous êtes opposé(e) au profilage : nous ne vous évaluons plus."
                     if fr else "You objected to profiling: we no longer score you.")
    return " ".join(parts)
