"""Free text a person wrote (a note, a reason, an outcome), as every entry point reads it.

A browser posts a textarea's line breaks as CRLF, so a note that fits the field's
`maxlength` (which counts a line break once) could come to the server longer than the same
limit; and text of spaces alone met a minimum length without saying anything. `PersonText`
reads a line break as one character (CRLF and CR as LF) and drops the spaces around the text
before its length is checked, for the API and the pages alike.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def person_text(value: Any) -> Any:
    """`value` with its line breaks as LF and without surrounding whitespace (anything but
    text as it came, for the type check to refuse)."""
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


PersonText = Annotated[str, BeforeValidator(person_text)]
