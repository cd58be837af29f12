"""What each message says, in English and French. A `{link}` placeholder is filled with a
fresh access link where the customer can act."""

from __future__ import annotations

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "access_link": {
        "en": ("Your personal page",
               "Hello,\n\nAs asked, here is your personal link. It shows the prediction we "
               "hold about you, in plain words, and lets you contest it or object to "
               "profiling.\n\n{link}\n\nIt works once and expires on {expires}. If you did "
               "not ask for it, you can ignore this message.\n"),
        "fr": ("Votre page personnelle",
               "Bonjour,\n\nComme demandé, voici votre lien personnel. Il montre la "
               "prédiction que nous détenons à votre sujet, en termes simples, et vous "
               "permet de la contester ou de vous opposer au profilage.\n\n{link}\n\nIl "
               "fonctionne une fois et expire le {expires}. Si vous ne l'avez pas demandé, "
               "ignorez ce message.\n"),
    },
}


TEXTS["decision"] = {
    "en": ("A decision on your dispute",
           "Hello,\n\nA person has reviewed the prediction you contested. {outcome}\n\n"
           "The reviewer's reason: {rationale}\n\n{restriction}\n\nYour page, to see the "
           "details or to object to profiling: {link}\n"),
    "fr": ("Une décision sur votre contestation",
           "Bonjour,\n\nUne personne a examiné la prédiction que vous avez contestée. "
           "{outcome}\n\nLa raison donnée : {rationale}\n\n{restriction}\n\nVotre page, "
           "pour voir le détail ou vous opposer au profilage : {link}\n"),
}
TEXTS["objection"] = {
    "en": ("Your objection to profiling is recorded",
           "Hello,\n\nYour objection to profiling is recorded{by}: nothing about you is "
           "scored for retention any more. You can withdraw it on your page: {link}\n"),
    "fr": ("Votre opposition au profilage est enregistrée",
           "Bonjour,\n\nVotre opposition au profilage est enregistrée{by} : plus rien vous "
           "concernant n'est évalué à des fins de fidélisation. Vous pouvez la retirer sur "
           "votre page : {link}\n"),
}
TEXTS["erasure"] = {
    "en": ("Your data has been erased",
           "Hello,\n\nAs asked, the data we held about you (features, predictions, "
           "disputes, contact tasks and this address) has been erased. Only a pseudonym and "
           "the fact of the erasure are kept, so that you are not profiled again.\n"),
    "fr": ("Vos données ont été effacées",
           "Bonjour,\n\nComme demandé, les données que nous détenions à votre sujet "
           "(caractéristiques, prédictions, contestations, tâches de contact et cette "
           "adresse) ont été effacées. Seuls un pseudonyme et le fait de l'effacement sont "
           "conservés, pour que vous ne soyez plus profilé.\n"),
}
PHRASES = {
    "upheld": {"en": "It found the prediction correct: it stands.",
               "fr": "Elle a jugé la prédiction correcte : elle est maintenue."},
    "rectified": {"en": "It corrected your data as you asked and calculated the prediction "
                        "again with the corrected data (your data was rectified).",
                  "fr": "Elle a corrigé vos données comme vous l'avez demandé et recalculé la "
                        "prédiction avec les données corrigées (vos données ont été "
                        "rectifiées)."},
    "overturned": {"en": "It found the prediction wrong: it is withdrawn and no longer used.",
                   "fr": "Elle a jugé la prédiction erronée : elle est retirée et n'est plus "
                         "utilisée."},
    "lifting": {"en": "With this decision, the restriction on your record is lifted once "
                      "this message has been sent to you (not before): your record may then "
                      "again be used for retention contacts and training. If you do not want "
                      "that, object to profiling on your page.",
                "fr": "Avec cette décision, la limitation de votre dossier est levée une fois "
                      "ce message envoyé (pas avant) : il pourra alors de nouveau servir aux "
                      "contacts de fidélisation et à l'entraînement. Si vous ne le souhaitez "
                      "pas, opposez-vous au profilage sur votre page."},
    "still_restricted": {"en": "Another dispute of yours is still open: your record stays "
                               "restricted until it is decided.",
                         "fr": "Une autre de vos contestations est encore ouverte : votre "
                               "dossier reste limité jusqu'à sa décision."},
    "by_phone": {"en": " (by phone, with one of our staff)",
                 "fr": " (par téléphone, avec un de nos conseillers)"},
    "": {"en": "", "fr": ""},
}


def phrase(key: tuple[str, ...] | str, lang: str) -> str:
    """A fixed phrase (or several, joined) in the customer's language."""
    keys = key if isinstance(key, tuple) else (key,)
    return " ".join(PHRASES[k].get(lang) or PHRASES[k]["en"] for k in keys).strip()


def render(kind: str, lang: str, **values: str) -> tuple[str, str]:
    """(subject, body) of a message in the customer's language."""
    texts = TEXTS[kind]
    subject, body = texts.get(lang) or texts["en"]
    return subject, body.format(**values)


# -- issue 18: rights requests as tracked cases ----------------------------------------------
TEXTS["rights_opened"] = {
    "en": ("We received your request",
           "Hello,\n\nWe received your request ({what}) on {opened}{by}. A person from our "
           "team handles it and answers by {due} at the latest.{wait}\n\nYour page, to follow "
           "it or cancel it: {link}\n"),
    "fr": ("Nous avons reçu votre demande",
           "Bonjour,\n\nNous avons reçu votre demande ({what}) le {opened}{by}. Une personne "
           "de notre équipe la traite et vous répond au plus tard le {due}.{wait}\n\nVotre "
           "page, pour la suivre ou l'annuler : {link}\n"),
}
TEXTS["rights_extended"] = {
    "en": ("More time to answer your request",
           "Hello,\n\nWe need more time to answer your request ({what}): we will answer by "
           "{due} at the latest (the law allows two further months for a complex request).\n\n"
           "Why: {reason}\n\nYou may complain to {authority}.\n\nYour page: {link}\n"),
    "fr": ("Un délai supplémentaire pour votre demande",
           "Bonjour,\n\nIl nous faut plus de temps pour répondre à votre demande ({what}) : "
           "nous vous répondrons au plus tard le {due} (la loi permet deux mois de plus pour "
           "une demande complexe).\n\nPourquoi : {reason}\n\nVous pouvez introduire une "
           "réclamation auprès de {authority}.\n\nVotre page : {link}\n"),
}
TEXTS["rights_closed"] = {
    "en": ("Our answer to your request",
           "Hello,\n\n{result}\n\n{outcome}\n\nIf you disagree, you may complain to "
           "{authority}.\n\nYour page: {link}\n"),
    "fr": ("Notre réponse à votre demande",
           "Bonjour,\n\n{result}\n\n{outcome}\n\nSi vous n'êtes pas d'accord, vous pouvez "
           "introduire une réclamation auprès de {authority}.\n\nVotre page : {link}\n"),
}
PHRASES.update({
    "right_access": {"en": "a copy of your data", "fr": "une copie de vos données"},
    "right_erasure": {"en": "erasure of your data", "fr": "effacement de vos données"},
    "right_rectification": {"en": "rectification of your data",
                            "fr": "rectification de vos données"},
    "right_restriction": {"en": "restriction of the use of your data",
                          "fr": "limitation de l'utilisation de vos données"},
    "right_objection": {"en": "objection to profiling", "fr": "opposition au profilage"},
    "rights_done": {"en": "Your request has been carried out.",
                    "fr": "Votre demande a été traitée et exécutée."},
    "rights_refused": {"en": "We cannot carry out your request, for the reason below.",
                       "fr": "Nous ne pouvons pas donner suite à votre demande, pour la raison "
                             "ci-dessous."},
    "erasure_wait": {"en": " Unless you cancel it on your page, the erasure is carried out "
                           "automatically on {when}.",
                     "fr": " Sauf si vous l'annulez sur votre page, l'effacement est effectué "
                           "automatiquement le {when}."},
    "access_ready": {"en": "Your copy is ready: download it on your page, as a document "
                           "that prints well or as data (JSON).",
                     "fr": "Votre copie est prête : téléchargez-la sur votre page, en document "
                           "imprimable ou en données (JSON)."},
})
