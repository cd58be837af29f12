"""The words of the web pages in English and French.

Feature labels, value labels and reason sentences come from the model spec (bilingual
already); this catalogue holds only the words of the pages themselves, as data: every YAML
file of `serving/web/locales/` (one per group of pages), read and checked once, here, by
`serving.catalogue` (the app does not start with a half-written catalogue).
"""

from __future__ import annotations

import re
from pathlib import Path

from serving import catalogue
from serving.catalogue import DEFAULT_LANG, LANGS, MissingText

__all__ = ["CATALOG", "DEFAULT_LANG", "LANGS", "MissingText", "check_catalog", "pick_lang",
           "text_lang", "translator"]

LOCALES = Path(__file__).resolve().parent / "locales"
CATALOG: dict[str, dict[str, str]] = catalogue.load(sorted(LOCALES.glob("*.yaml")))


# the commonest short words of each page language: enough to tell which of the two a
# person's free text (a reviewer's rationale, a customer's statement) is written in
_STOPWORDS = {
    "en": frozenset("the and is are was were you your we our to of in it that this not for "
                    "with have has be on as at by from an or but because no".split()),
    "fr": frozenset("le la les et est sont vous votre vos nous notre de des du un une que qui "
                    "pas pour avec ce cette dans au aux sur été ont je ne il elle en par mais "
                    "car".split()),
}


def text_lang(text: str | None) -> str | None:
    """Which page language a person's free text is written in ("en", "fr"), None when it
    cannot be told (too short, or neither). Free text is shown as written, never
    translated: the page marks it with this language (`lang=`) and says so."""
    if not text:
        return None
    words = re.findall(r"[a-zà-ÿ']+", text.lower())
    words = [w.split("'")[-1] or w for w in words]
    score = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    score["fr"] += len(re.findall(r"[éèêàùçœ]", text.lower()))
    if score["en"] == score["fr"]:
        return None
    return max(score, key=score.__getitem__)


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



def check_catalog(catalog: dict[str, dict[str, str]]) -> list[str]:
    """What is wrong with a catalogue: an entry without both languages, an empty text,
    languages that do not take the same {placeholders}, a singular without its plural.
    Empty when all is well (`serving.catalogue.problems`)."""
    return catalogue.problems(catalog)


def translator(lang: str):  # noqa: ANN201 - a callable for the templates
    """`t(key, **params)`: the page's words in `lang`. `count=n` picks `key + "_one"` when n
    takes the singular in `lang` ("1 other fact", "1 autre élément"; French: below 2) and
    passes n as {n}. An unknown key raises `MissingText`: a page never shows a raw key."""
    return catalogue.translator(CATALOG, lang, "serving/web/locales/*.yaml")
