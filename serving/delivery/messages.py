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


def render(kind: str, lang: str, **values: str) -> tuple[str, str]:
    """(subject, body) of a message in the customer's language."""
    texts = TEXTS[kind]
    subject, body = texts.get(lang) or texts["en"]
    return subject, body.format(**values)
