"""The catalogues of words held as YAML data files (serving/catalogue.py): each file is read
once and checked, a half-written or doubled entry is refused with the file and key named,
and every catalogue file ships in the package (an installed wheel has them)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from serving import catalogue
from serving.catalogue import CatalogueError, MissingText

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_whole_catalogue_loads_with_its_paragraph_lists(tmp_path):
    path = _write(tmp_path, "a.yaml", "greet:\n  en: Hello {name}\n  fr: Bonjour {name}\n"
                  "steps:\n  en: ['one {x}', two]\n  fr: ['un {x}', deux]\n")
    loaded = catalogue.load([path])
    assert loaded == {"greet": {"en": "Hello {name}", "fr": "Bonjour {name}"},
                      "steps": {"en": ["one {x}", "two"], "fr": ["un {x}", "deux"]}}


@pytest.mark.parametrize(("text", "said"), [
    ("k:\n  en: a\n  fr: b\nk:\n  en: c\n  fr: d\n", "'k' given twice"),
    ("k:\n  en: a\n  en: c\n  fr: b\n", "'en' given twice"),
    ("k:\n  en: a\n", "k: no text in fr"),
    ("k:\n  en: a\n  fr: '  '\n", "k: no text in fr"),
    ("k:\n  en: '{n} a'\n  fr: '{m} b'\n", "k: the languages take different placeholders"),
    ("k:\n  en: [a, b]\n  fr: [a]\n", "different numbers of paragraphs"),
    ("k:\n  en: ['{x}', b]\n  fr: [a, '{x}']\n", "different placeholders"),
    ("k:\n  en: a\n  fr: b\n  de: c\n", "expected a mapping of en, fr"),
    ("k: just text\n", "expected a mapping of en, fr"),
    ("k_one:\n  en: a\n  fr: b\n", "a singular without its plural 'k'"),
    ("- a list\n", "expected a mapping of entries"),
    ("k:\n  en: [a {x}]\n", "not valid YAML"),
])
def test_a_broken_file_is_refused_naming_the_file_and_the_key(tmp_path, text, said):
    path = _write(tmp_path, "broken.yaml", text)
    with pytest.raises(CatalogueError, match="broken.yaml") as raised:
        catalogue.load([path])
    assert said in str(raised.value)


def test_a_key_in_two_files_is_refused(tmp_path):
    first = _write(tmp_path, "first.yaml", "k:\n  en: a\n  fr: b\n")
    second = _write(tmp_path, "second.yaml", "k:\n  en: c\n  fr: d\n")
    with pytest.raises(CatalogueError, match=r"second.yaml: key 'k' is already defined in "
                                             r".*first.yaml"):
        catalogue.load([first, second])


def test_no_file_at_all_is_refused_rather_than_an_empty_catalogue():
    with pytest.raises(CatalogueError, match="package-data"):
        catalogue.load([])


def test_the_translator_picks_the_singular_and_refuses_an_unknown_key():
    words = {"days": {"en": "{n} days", "fr": "{n} jours"},
             "days_one": {"en": "{n} day", "fr": "{n} jour"}}
    t = catalogue.translator(words, "fr", "here.yaml", number=lambda n, _: f"<{n}>")
    assert t("days", count=1) == "<1> jour" and t("days", count=2) == "<2> jours"
    assert catalogue.translator(words, "de", "here.yaml")("days", count=0) == "0 days"
    with pytest.raises(MissingText, match="'nope' in fr in here.yaml"):
        t("nope")


def test_every_catalogue_file_ships_in_the_package():
    """An installed wheel reads its words from these files: each must match the
    package-data patterns of pyproject.toml (the tree's files are not enough)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    files = [ROOT / "serving" / "compliance" / "wording.yaml",
             ROOT / "serving" / "compliance" / "record.yaml",
             ROOT / "serving" / "rights" / "copy.yaml",
             ROOT / "serving" / "rights" / "actions.yaml",
             *sorted((ROOT / "serving" / "web" / "locales").glob("*"))]
    assert len(files) > 6 and all(f.is_file() for f in files), files
    unshipped = [f.name for f in files if not any(fnmatch.fnmatch(f.name, p) for p in patterns)]
    assert unshipped == []
    # a data folder without __init__.py is still a package to setuptools' find (namespace
    # packages are included), but only when the include pattern reaches it
    assert "serving*" in config["tool"]["setuptools"]["packages"]["find"]["include"]
