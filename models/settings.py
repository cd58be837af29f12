"""CHURN_* settings read for a command line, training's or serving's: a mistake in the
environment ends the command with one line per setting (which one, what is wrong) instead
of a pydantic traceback. Shared here because `models/` is the only code both sides import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError

T = TypeVar("T")


def settings_or_exit(read: Callable[[], T]) -> T:
    """`read()` (a pydantic-settings class, say), or `SystemExit` listing each invalid
    setting as `  name: message`."""
    try:
        return read()
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
                 for e in exc.errors()]
        raise SystemExit("invalid CHURN_* settings:\n" + "\n".join(lines)) from None
