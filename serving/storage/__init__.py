"""Storage: SQLAlchemy 2 tables, engine/session factory, Alembic migrations."""

from serving.storage.db import Database, make_engine
from serving.storage.migrate import upgrade

__all__ = ["Database", "make_engine", "upgrade"]
