"""The words of the web pages in English and French.

Feature labels, value labels and reason sentences come from the model spec (bilingual
already); this catalogue holds only the words of the pages themselves.
"""

from __future__ import annotations

LANGS = ("en", "fr")
DEFAULT_LANG = "en"

CATALOG: dict[str, dict[str, str]] = {
    # frame
    "skip": {"en": "Skip to content", "fr": "Aller au contenu"},
    "product": {"en": "Churn prediction", "fr": "Prédiction de départ"},
    "switch_lang": {"en": "Français", "fr": "English"},
    "switch_lang_label": {"en": "Lire cette page en français",
                          "fr": "Read this page in English"},
    "sign_out": {"en": "Sign out", "fr": "Se déconnecter"},
    # errors
    "err_401_title": {"en": "Please sign in", "fr": "Veuillez vous identifier"},
    "err_401_staff": {
        "en": "This page is for the retention and review teams. Sign in with your staff "
              "token to continue.",
        "fr": "Cette page est réservée aux équipes de fidélisation et de revue. "
              "Identifiez-vous avec votre jeton pour continuer.",
    },
    "err_401_customer": {
        "en": "Open the link we sent you again to see your page. If it has expired, "
              "ask us for a new one.",
        "fr": "Ouvrez à nouveau le lien que nous vous avons envoyé pour voir votre page. "
              "S'il a expiré, demandez-nous-en un nouveau.",
    },
    "err_403_title": {"en": "Not allowed", "fr": "Accès non autorisé"},
    "err_403_text": {
        "en": "You are signed in, but this page is not open to you.",
        "fr": "Vous êtes identifié, mais cette page ne vous est pas ouverte.",
    },
    "err_403_customer": {
        "en": "Your link only opens your own page.",
        "fr": "Votre lien n'ouvre que votre propre page.",
    },
    "err_403_staff": {
        "en": "Ask an administrator for the role this page needs, or sign in with "
              "another token.",
        "fr": "Demandez à un administrateur le rôle nécessaire, ou identifiez-vous avec "
              "un autre jeton.",
    },
    "err_csrf_title": {"en": "The form has expired", "fr": "Le formulaire a expiré"},
    "err_csrf_text": {
        "en": "For your safety this form could not be accepted (its security token is "
              "missing or out of date). Go back, reload the page and send it again.",
        "fr": "Par sécurité, ce formulaire n'a pas pu être accepté (son jeton de sécurité "
              "manque ou n'est plus valable). Revenez en arrière, rechargez la page et "
              "envoyez-le à nouveau.",
    },
    "err_404_title": {"en": "Not found", "fr": "Introuvable"},
    "err_404_text": {"en": "There is nothing here, or it is not yours to see.",
                     "fr": "Il n'y a rien ici, ou ce n'est pas à vous de le voir."},
    "err_other_title": {"en": "Something went wrong", "fr": "Une erreur est survenue"},
    "err_429_title": {"en": "Too many requests", "fr": "Trop de demandes"},
    "err_429_text": {"en": "Please wait a minute and try again.",
                     "fr": "Merci de patienter une minute puis de réessayer."},
    "go_sign_in": {"en": "Go to the sign-in page", "fr": "Aller à la page d'identification"},
    "go_home": {"en": "Back to the start", "fr": "Retour à l'accueil"},
    # customer access
    "access_title": {"en": "Your personal page", "fr": "Votre page personnelle"},
    "access_intro": {
        "en": "Open the link we sent you. If your browser did not open your page by "
              "itself, paste the access code from the link here.",
        "fr": "Ouvrez le lien que nous vous avons envoyé. Si votre navigateur n'a pas "
              "ouvert votre page tout seul, collez ici le code d'accès du lien.",
    },
    "access_code": {"en": "Access code", "fr": "Code d'accès"},
    "access_open": {"en": "Open my page", "fr": "Ouvrir ma page"},
    "access_bad": {
        "en": "This access code is not valid or has expired. Ask us for a new link.",
        "fr": "Ce code d'accès n'est pas valable ou a expiré. Demandez-nous un nouveau lien.",
    },
    # customer page
    "me_title": {"en": "What our model says about you", "fr": "Ce que notre modèle dit de vous"},
    "me_none": {
        "en": "We hold no prediction about you at the moment.",
        "fr": "Nous ne détenons actuellement aucune prédiction vous concernant.",
    },
    "me_pred_high": {
        "en": "Our model estimates that you may be considering leaving us.",
        "fr": "Notre modèle estime que vous envisagez peut-être de nous quitter.",
    },
    "me_pred_medium": {
        "en": "Our model estimates that there is some chance you may leave us.",
        "fr": "Notre modèle estime qu'il est possible que vous nous quittiez.",
    },
    "me_pred_low": {
        "en": "Our model estimates that you are likely to stay with us.",
        "fr": "Notre modèle estime que vous resterez probablement avec nous.",
    },
    "me_estimate": {"en": "Estimated chance of leaving: {pct}.",
                    "fr": "Probabilité estimée de départ : {pct}."},
    "me_made": {"en": "Estimate made on {date} by model {model}.",
                "fr": "Estimation faite le {date} par le modèle {model}."},
    "me_factors": {"en": "The main reasons", "fr": "Les principales raisons"},
    "me_factors_intro": {
        "en": "These are the facts that weighed most in the estimate:",
        "fr": "Voici les éléments qui ont le plus pesé dans l'estimation :",
    },
    "me_chart_title": {"en": "How each fact moved the estimate",
                       "fr": "Comment chaque élément a fait varier l'estimation"},
    "me_data": {"en": "The data we used, and why", "fr": "Les données utilisées, et pourquoi"},
    "me_no_auto": {"en": "No automatic decision", "fr": "Aucune décision automatique"},
    "me_no_auto_text": {
        "en": "Nothing is decided automatically from this estimate: no message, offer or "
              "price change is triggered by it. A person from our team may contact you; "
              "they decide what, if anything, to propose.",
        "fr": "Rien n'est décidé automatiquement à partir de cette estimation : aucun "
              "message, aucune offre, aucun changement de prix. Une personne de notre équipe "
              "peut vous contacter ; c'est elle qui décide de ce qu'elle vous propose.",
    },
    "me_rights": {"en": "Your rights", "fr": "Vos droits"},
    "contest_cta": {"en": "Contest this prediction", "fr": "Contester cette prédiction"},
    "object_cta": {"en": "Object to profiling", "fr": "M'opposer au profilage"},
    "restricted": {
        "en": "You have contested this prediction. While a person reviews it, your record "
              "is not used.",
        "fr": "Vous avez contesté cette prédiction. Pendant son examen par une personne, "
              "votre dossier n'est pas utilisé.",
    },
    "objected": {
        "en": "You objected to profiling. No more retention predictions will be made about "
              "you.",
        "fr": "Vous vous êtes opposé(e) au profilage. Plus aucune prédiction de départ ne "
              "sera faite à votre sujet.",
    },
    "withdraw_how": {
        "en": "You can withdraw your objection at any time with the button below.",
        "fr": "Vous pouvez retirer votre opposition à tout moment avec le bouton ci-dessous.",
    },
    "withdraw_cta": {"en": "Withdraw my objection", "fr": "Retirer mon opposition"},
    "withdrawn_done": {
        "en": "Your objection is withdrawn.",
        "fr": "Votre opposition est retirée.",
    },
    "my_disputes": {"en": "Your requests", "fr": "Vos demandes"},
    "ref": {"en": "Reference", "fr": "Référence"},
    "status": {"en": "Status", "fr": "Statut"},
    "due": {"en": "Answer due by", "fr": "Réponse au plus tard le"},
    "received": {"en": "Received", "fr": "Reçue le"},
    "outcome": {"en": "Outcome", "fr": "Résultat"},
    "st_open": {"en": "being reviewed", "fr": "en cours d'examen"},
    "st_decided": {"en": "decided", "fr": "décidée"},
    "dec_upheld": {
        "en": "A person reviewed your request and confirmed the prediction.",
        "fr": "Une personne a examiné votre demande et a confirmé la prédiction.",
    },
    "dec_rectified": {
        "en": "A person reviewed your request, corrected your data and made a new "
              "estimate.",
        "fr": "Une personne a examiné votre demande, a corrigé vos données et a refait "
              "l'estimation.",
    },
    "dec_overturned": {
        "en": "A person reviewed your request and withdrew the prediction: it is no longer "
              "used.",
        "fr": "Une personne a examiné votre demande et a retiré la prédiction : elle n'est "
              "plus utilisée.",
    },
    "rationale": {"en": "Explanation from the reviewer", "fr": "Explication de la personne"},
    "view_status": {"en": "See the status", "fr": "Voir le statut"},
    "back_me": {"en": "Back to my page", "fr": "Retour à ma page"},
    # contest form
    "contest_title": {"en": "Contest the prediction", "fr": "Contester la prédiction"},
    "contest_intro": {
        "en": "Tick each fact that is wrong and give the right value. You may also explain "
              "in your own words.",
        "fr": "Cochez chaque élément faux et indiquez la bonne valeur. Vous pouvez aussi "
              "vous expliquer avec vos propres mots.",
    },
    "we_have": {"en": "We have:", "fr": "Nous avons :"},
    "is_wrong": {"en": "This is wrong", "fr": "C'est faux"},
    "right_value": {"en": "Right value", "fr": "Bonne valeur"},
    "choose": {"en": "Choose…", "fr": "Choisir…"},
    "statement": {"en": "Your statement", "fr": "Votre explication"},
    "statement_hint": {"en": "Up to {n} characters.", "fr": "Jusqu'à {n} caractères."},
    "want_human": {"en": "I want a person to review this",
                   "fr": "Je veux qu'une personne examine ma demande"},
    "send": {"en": "Send my request", "fr": "Envoyer ma demande"},
    "cancel": {"en": "Cancel", "fr": "Annuler"},
    "form_errors": {"en": "Please correct the fields marked below.",
                    "fr": "Merci de corriger les champs signalés ci-dessous."},
    "e_need_something": {
        "en": "Tick at least one wrong fact, or write a statement.",
        "fr": "Cochez au moins un élément faux, ou écrivez une explication.",
    },
    "e_need_value": {"en": "Give the right value.", "fr": "Indiquez la bonne valeur."},
    "e_number": {"en": "Enter a number.", "fr": "Saisissez un nombre."},
    "e_range": {"en": "Enter a number between {lo} and {hi}.",
                "fr": "Saisissez un nombre entre {lo} et {hi}."},
    "e_min": {"en": "Enter a number of at least {lo}.",
              "fr": "Saisissez un nombre supérieur ou égal à {lo}."},
    "e_whole": {"en": "Enter a whole number.", "fr": "Saisissez un nombre entier."},
    "e_text": {"en": "This text contains a character we cannot keep.",
               "fr": "Ce texte contient un caractère que nous ne pouvons pas conserver."},
    "e_choice": {"en": "Choose one of the listed values.",
                 "fr": "Choisissez une des valeurs proposées."},
    "e_same": {"en": "This is the value we already have.",
               "fr": "C'est la valeur que nous avons déjà."},
    "e_too_long": {"en": "Keep it to {n} characters (you wrote {m}).",
                   "fr": "Limitez-vous à {n} caractères (vous en avez écrit {m})."},
    "sent_title": {"en": "We have received your request",
                   "fr": "Nous avons bien reçu votre demande"},
    "sent_text": {
        "en": "A person will review it. Until then your record is not used.",
        "fr": "Une personne va l'examiner. D'ici là, votre dossier n'est pas utilisé.",
    },
    "sent_keep": {
        "en": "Keep this reference. You can come back to this page at any time with "
              "your link.",
        "fr": "Gardez cette référence. Vous pouvez revenir sur cette page à tout moment "
              "avec votre lien.",
    },
    "dispute_title": {"en": "Your request", "fr": "Votre demande"},
    "you_said": {"en": "What you told us", "fr": "Ce que vous nous avez dit"},
    "contested": {"en": "Facts you contested", "fr": "Éléments contestés"},
    "new_estimate": {"en": "The new estimate", "fr": "La nouvelle estimation"},
    # objection
    "object_title": {"en": "Object to profiling", "fr": "S'opposer au profilage"},
    "object_text": {
        "en": "If you object, we will stop making retention predictions about you, and "
              "your record will not appear in our retention lists. You can withdraw your "
              "objection later.",
        "fr": "Si vous vous opposez, nous cesserons de faire des prédictions de départ à "
              "votre sujet, et votre dossier n'apparaîtra plus dans nos listes de "
              "fidélisation. Vous pourrez retirer votre opposition plus tard.",
    },
    "object_confirm": {"en": "Yes, I object", "fr": "Oui, je m'oppose"},
    "object_done": {"en": "Your objection is recorded.",
                    "fr": "Votre opposition est enregistrée."},
    "not_available": {
        "en": "This cannot be done online yet. Please reply to the message that brought "
              "you this link.",
        "fr": "Ce n'est pas encore possible en ligne. Merci de répondre au message qui vous "
              "a apporté ce lien.",
    },
    "raises": {"en": "raises the risk", "fr": "augmente le risque"},
    "lowers": {"en": "lowers the risk", "fr": "diminue le risque"},
    "chart_desc": {
        "en": "Bars to the right raised the estimate, bars to the left lowered it.",
        "fr": "Les barres vers la droite ont augmenté l'estimation, celles vers la gauche "
              "l'ont diminuée.",
    },
    "other_factors": {"en": "{n} other facts", "fr": "{n} autres éléments"},
}


def pick_lang(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header, by quality."""
    if not accept_language:
        return DEFAULT_LANG
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()
        q = 1.0
        for b in bits[1:]:
            b = b.strip()
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        ranked.append((-q, i, tag.split("-")[0]))
    for _, _, tag in sorted(ranked):
        if tag in LANGS:
            return tag
    return DEFAULT_LANG


def translator(lang: str):  # noqa: ANN201 - a callable for the templates
    lang = lang if lang in LANGS else DEFAULT_LANG

    def t(key: str, **params: object) -> str:
        entry = CATALOG.get(key)
        text = key if entry is None else entry.get(lang) or entry[DEFAULT_LANG]
        return text.format(**params) if params else text

    return t
