"""The README stands alone: a user who clones only this repository finds every document it
points to inside it (no link to ../shared or to the specification kept outside)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_stays_inside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert "SPEC.md" not in text
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http(s), mailto
            continue
        resolved = (doc.parent / target).resolve()
        assert resolved.is_relative_to(REPO), f"{doc.name} links outside the repo: {target}"
        assert resolved.exists(), f"{doc.name} links to a missing file: {target}"


def test_the_readme_points_to_the_product_page_and_the_rules() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "](docs/product.md)" in readme
    assert "## Rules of the house" in readme
    product = (REPO / "docs" / "product.md").read_text(encoding="utf-8")
    for heading in ("## Who uses it", "## The principles", "## The flows"):
        assert heading in product
