"""The metadata store: SQLAlchemy engine for SQLite (embedded) or PostgreSQL, migrated by Alembic."""

from aiflywheel.backends.store.engine import open_store

__all__ = ["open_store"]
