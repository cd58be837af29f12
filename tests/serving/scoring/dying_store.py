"""The online store for a fault test, imported by the writer process itself: it stores a
group as the server's store does and commits it, then, when its database's marker file
exists (`marker`; removed first: once), ends the process before it replies, as a crash
between the commit and the answer would."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from serving.scoring.service import store_wire


def marker(url: str) -> Path:
    """The file that tells the writer process of the database at `url` to die once."""
    name = str(make_url(url).database).replace("/", "_")
    return Path(tempfile.gettempdir()) / f"churn-writer-dies-{name}"


def store(session, jobs):  # noqa: ANN001, ANN201
    outcomes = store_wire(session, jobs)
    die = marker(session.get_bind().engine.url.render_as_string(hide_password=False))
    if die.exists():
        die.unlink()
        session.commit()
        os._exit(3)  # committed, never answered
    return outcomes
