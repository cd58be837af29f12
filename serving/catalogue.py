"""Bilingual catalogues of words, held as YAML data files beside the code that shows them
(`serving/web/locales/`, `serving/compliance/*.yaml`, `serving/rights/*.yaml`).

A catalogue is read once, when its module is imported, and checked then: a file that is not
a mapping of entries, a key given twice (in one file or across files), an entry without
both languages, an empty text, or languages that do not take the same {placeholders} stop
the service from starting instead of showing a half-written page. An entry's text is a
string, or a list of paragraphs (the same number in each language, checked item by item).
A key ending in `_one` is the singular of the key without it (`translator` picks it).

Words are data, not code: a translator edits them without touching Python, and the code
that uses them stays short enough to read.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from models.spec import is_singular

LANGS = ("en", "fr")
DEFAULT_LANG = "en"
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class CatalogueError(ValueError):
    """A catalogue file cannot be used as it is (the message names the file, the key and
    what to change)."""


class MissingText(KeyError):
    """A page or a report asked for words its catalogue does not have (a bug: the tests
    find every key the templates and views use)."""


class _UniqueKeys(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe YAML loader, refusing a mapping that gives the same key twice (plain YAML
    keeps the last silently, so an entry pasted twice would hide the first). LibYAML's
    parser where PyYAML has it: the catalogues are read at every start, in a tenth of the
    pure-Python parser's time."""


def _unique_mapping(loader: _UniqueKeys, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise CatalogueError(
                f"{node.start_mark.name}: key {key!r} given twice (line "
                f"{key_node.start_mark.line + 1}); keep one entry per key")
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _shown(path: Path) -> str:
    """A file's name as messages give it: from the package root (no machine's path)."""
    resolved = path.resolve()
    return str(resolved.relative_to(_PACKAGE_ROOT)) if resolved.is_relative_to(
        _PACKAGE_ROOT) else str(path)


def load(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """The entries of the YAML files `paths`, merged in one catalogue and checked (see the
    module's docstring). Raises `CatalogueError` naming the file and what is wrong, or when
    `paths` is empty (a package installed without its data files)."""
    files = list(paths)
    if not files:
        raise CatalogueError("no catalogue file given: the package was installed without its "
                             "YAML data files; list them in pyproject.toml package-data")
    merged: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for path in files:
        try:
            with path.open(encoding="utf-8") as f:
                entries = yaml.load(f, Loader=_UniqueKeys)  # noqa: S506 - a safe loader
        except yaml.YAMLError as e:
            raise CatalogueError(f"{_shown(path)}: not valid YAML ({e}); quote a text that "
                                 "starts with {, [, or holds ': '") from e
        if not isinstance(entries, dict) or not entries:
            raise CatalogueError(f"{_shown(path)}: expected a mapping of entries (key: "
                                 f"{{en: ..., fr: ...}}), found {type(entries).__name__}")
        for key, entry in entries.items():
            if key in merged:
                raise CatalogueError(f"{_shown(path)}: key {key!r} is already defined in "
                                     f"{where[key]}; keep one of the two")
            merged[key], where[key] = entry, _shown(path)
    found = problems(merged)
    if found:  # each problem starts with its key: say which file to open
        raise CatalogueError("; ".join(f"{where[p.split(': ', 1)[0]]}: {p}" for p in found))
    return merged


def placeholders(text: str) -> set[str]:
    """The {names} a text takes."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def problems(catalogue: Mapping[str, Any]) -> list[str]:
    """What is wrong with a catalogue, one line an entry ("key: what"): an entry that is not
    a mapping of the languages, a language missing or empty, languages that do not take the
    same {placeholders} (or, for lists, not the same number of paragraphs), a singular
    (`_one`) without its plural. Empty when all is well."""
    out = []
    for key, entry in catalogue.items():
        if not isinstance(entry, Mapping) or set(entry) - set(LANGS):
            out.append(f"{key}: expected a mapping of {', '.join(LANGS)} to texts, found "
                       f"{sorted(entry) if isinstance(entry, Mapping) else entry!r}")
            continue
        texts = {lang: entry.get(lang) for lang in LANGS}
        missing = [lang for lang, text in texts.items() if not _written(text)]
        if missing:
            out.append(f"{key}: no text in {', '.join(missing)}")
        elif any(isinstance(text, list) for text in texts.values()) and len(
                {len(text) if isinstance(text, list) else -1 for text in texts.values()}) > 1:
            each = ", ".join(f"{lang}: {_size(text)}" for lang, text in texts.items())
            out.append(f"{key}: the languages take different numbers of paragraphs ({each})")
        elif _placeholders_differ(texts):
            each = ", ".join(f"{lang}: {_fields(text)}" for lang, text in texts.items())
            out.append(f"{key}: the languages take different placeholders ({each})")
        if key.endswith("_one") and key[:-4] not in catalogue:
            out.append(f"{key}: a singular without its plural {key[:-4]!r}")
    return out


def _written(text: Any) -> bool:
    if isinstance(text, list):
        return bool(text) and all(_written(t) for t in text)
    return isinstance(text, str) and bool(text.strip())


def _size(text: Any) -> str:
    return f"{len(text)} paragraphs" if isinstance(text, list) else "one text"


def _fields(text: str | list[str]) -> list[Any]:
    if isinstance(text, list):
        return [sorted(placeholders(t)) for t in text]
    return sorted(placeholders(text))


def _placeholders_differ(texts: dict[str, Any]) -> bool:
    return len({repr(_fields(text)) for text in texts.values()}) > 1


def pick(lang: str | None) -> str:
    """`lang` when the catalogues have it, else the default language."""
    return lang if lang in LANGS else DEFAULT_LANG


def translator(catalogue: Mapping[str, Mapping[str, str]], lang: str, where: str,
               number: Callable[[float, str], object] = lambda n, _: n,
               ) -> Callable[..., str]:
    """`t(key, count=None, **params)`: the words of `key` in `lang` (the default language
    for one the catalogues do not have). `count=n` picks `key + "_one"` when n takes the
    singular in `lang` ("1 other fact", "1 autre élément"; French: below 2) and passes
    `number(n, lang)` as {n}. An unknown key raises `MissingText` naming `where` the
    catalogue lives: a page never shows a raw key."""
    lang = pick(lang)

    def t(key: str, count: float | None = None, **params: object) -> str:
        if count is not None:
            params.setdefault("n", number(count, lang))
            if is_singular(count, lang) and key + "_one" in catalogue:
                key += "_one"
        entry = catalogue.get(key)
        if entry is None or lang not in entry:
            raise MissingText(f"no text {key!r} in {lang} in {where}; add it in English and "
                              "French")
        text = entry[lang]
        return text.format(**params) if params else text

    return t
