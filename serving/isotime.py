"""Dates and times as clients must send them: ISO 8601 text only.

pydantic's lax mode reads a number as seconds since 1970 (`until=0.5` became
1970-01-01T00:00:00.5Z, `"left_on": 0` the first of January 1970), which silently
turns a client's mistake into a wrong answer. These types refuse numbers with a 422
that names the format expected; the OpenAPI schema keeps `format: date` / `date-time`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def _text_only(example: str):  # noqa: ANN202
    def check(value: Any) -> Any:
        if isinstance(value, bool | int | float) or (
                isinstance(value, str) and _NUMBER.fullmatch(value)):
            raise ValueError(f"expected an ISO 8601 text such as {example!r}, got the number "
                             f"{value!r}; send the date as text")
        return value
    return check


IsoDate = Annotated[dt.date, BeforeValidator(_text_only("2026-10-31"))]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_text_only("2026-10-31T00:00:00Z"))]
