"""The compliance report's words in English and French, and its numbers and dates as each
language writes them ("1,234.5", "55%", "2026-01-31 12:00 UTC"; "1 234,5", "55 %",
"31/01/2026 12:00 UTC").

The words are data beside this module (`wording.yaml`: the report's texts; `record.yaml`:
the record of processing's paragraphs), read and checked once at import by
`serving.catalogue`, as the pages' catalogue is: one entry per text with both languages
and the same placeholders, and a translator that refuses an unknown key rather than
printing it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from models.spec import is_singular
from serving import catalogue
from serving.catalogue import LANGS, MissingText

__all__ = ["LANGS", "MissingText", "TEXTS", "decimal", "integer", "percent", "pick",
           "problems", "singular", "translator", "when"]

NNBSP = "\u202f"  # French thousands separator (narrow no-break space)
NBSP = "\u00a0"  # before "%" in French

HERE = Path(__file__).resolve().parent
TEXTS: dict[str, dict[str, str]] = catalogue.load([HERE / "wording.yaml"])

# the record of processing's paragraphs: the settings' defaults, worded in each language
# (an operator's own text is shown as set), and the lists of purposes, people and measures
_RECORD = catalogue.load([HERE / "record.yaml"])
DEFAULT_CONTROLLER: dict[str, str] = _RECORD["default_controller"]
DEFAULT_LEGAL_BASIS: dict[str, str] = _RECORD["default_legal_basis"]
PURPOSES: dict[str, list[str]] = _RECORD["purposes"]
PEOPLE: dict[str, list[str]] = _RECORD["people"]
SECURITY: dict[str, list[str]] = _RECORD["security"]


def problems(texts: dict[str, dict[str, str]] = TEXTS) -> list[str]:
    """Entries missing a language or whose languages take different placeholders
    (`serving.catalogue.problems`)."""
    return catalogue.problems(texts)


def pick(lang: str | None) -> str:
    """`lang` when the report has it, else English."""
    return catalogue.pick(lang)


def singular(n: float, lang: str) -> bool:
    """French counts 0 and 1 in the singular, English only 1."""
    return is_singular(n, lang)


def translator(lang: str) -> Callable[..., str]:
    """`t(key, count=None, **params)`: the report's words in `lang`; `count` picks the
    `_one` form when the number takes the singular and passes it (formatted) as {n}."""
    return catalogue.translator(TEXTS, lang, "serving/compliance/wording.yaml", number=integer)


# -- numbers and dates ----------------------------------------------------------------------
def integer(n: int, lang: str) -> str:
    """1,234 / 1 234 (narrow no-break space)."""
    text = f"{int(n):,}"
    return text.replace(",", NNBSP) if lang == "fr" else text


def decimal(x: float, lang: str, digits: int = 1) -> str:
    """12.5 / 12,5 (with thousands separators as `integer`)."""
    text = f"{x:,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", NNBSP).replace(".", ",")
    return text


def percent(rate: float, lang: str) -> str:
    """55% / 55 % (whole percent)."""
    value = f"{100 * rate:.0f}"
    return f"{value}{NBSP}%" if lang == "fr" else f"{value}%"


def when(value: str | datetime | None, lang: str) -> str:
    """A moment as the language writes it, in UTC: 2026-01-31 12:00 UTC / 31/01/2026
    12:00 UTC (a date alone when it is midnight)."""
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    day = at.strftime("%d/%m/%Y") if lang == "fr" else at.strftime("%Y-%m-%d")
    if (at.hour, at.minute, at.second) == (0, 0, 0):
        return day
    return f"{day} {at.strftime('%H:%M')} UTC"
