"""The role tables of the deny-by-default tests, written as text: one route a line,
`METHOD  /path  who who ...`, so a table reads like the access matrix it is.

Parsing it (rather than a dict literal) also catches what a literal lets pass silently: a
route listed twice (the later row would win) and a misspelt role (it would deny the role
everywhere, and the test would still pass)."""

from __future__ import annotations

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def role_table(text: str, who: frozenset[str]) -> dict[tuple[str, str], frozenset[str]]:
    """(method, path) -> who may use it, from lines `METHOD /path who...`; blank lines and
    `#` comments are skipped, every name must be in `who`."""
    table: dict[tuple[str, str], frozenset[str]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) < 3 or words[0] not in METHODS or not words[1].startswith("/"):
            raise ValueError(f"role table line {n}: expected `METHOD /path who...`, got "
                             f"{line.strip()!r}; fix the row")
        method, path, names = words[0], words[1], frozenset(words[2:])
        if unknown := names - who:
            raise ValueError(f"role table line {n}: unknown {sorted(unknown)} for {method} "
                             f"{path}; expected some of {sorted(who)}")
        if (method, path) in table:
            raise ValueError(f"role table line {n}: {method} {path} is listed twice; keep "
                             "one row")
        table[(method, path)] = names
    return table
