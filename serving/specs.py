"""The model specs of every version that ever served, read once per process.

A receipt is explained from its own model version's spec (a prediction made a year ago
by version 3 reads the same today), so every reader of receipts needs this cache; it is
its own module so that no domain has to import scoring for it.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ModelSpec
from serving.errors import NotFound
from serving.storage import bulk
from serving.storage.db import write_lock
from serving.storage.tables import ModelVersion

if TYPE_CHECKING:
    from serving.modelhost import ServedModel


class SpecCache:
    """Model specs by (name, version), read from `model_versions` once per process."""

    def __init__(self) -> None:
        self._specs: dict[tuple[str, str], ModelSpec] = {}
        self._lock = threading.Lock()

    def put(self, name: str, version: str, spec: ModelSpec) -> None:
        with self._lock:
            self._specs[(name, version)] = spec

    def get(self, session: Session, name: str, version: str) -> ModelSpec:
        """The spec of `name` version `version` (404 when this database never served it)."""
        key = (name, version)
        spec = self._specs.get(key)
        if spec is None:
            row = session.get(ModelVersion, key)
            if row is None:
                raise NotFound(f"model {name} version {version} is not recorded")
            spec = ModelSpec.model_validate(row.spec)
            self.put(name, version, spec)
        return spec


def last_served(session: Session) -> tuple[str, str, ModelSpec] | None:
    """The model version this database saw first served most recently, with its spec."""
    row = session.scalars(select(ModelVersion).order_by(
        ModelVersion.first_served_at.desc(), ModelVersion.name, ModelVersion.version)
        .limit(1)).first()
    return None if row is None else (row.name, row.version, ModelSpec.model_validate(row.spec))


def register_model(session: Session, served: ServedModel, specs: SpecCache) -> None:
    """Record the served version and its spec (so its receipts can always be explained)."""
    with write_lock(session):
        bulk.register_model_version(
            session, served.name, served.version,
            json.loads(served.spec.model_dump_json()), datetime.now(UTC),
        )
        session.commit()
    specs.put(served.name, served.version, served.spec)
