"""Bulk inserts through the database driver, for the few tables written at request rate.

SQLAlchemy's per-row parameter processing costs several microseconds a row; the
prediction log writes a row per prediction. This writes rows as plain tuples with the
driver's ``executemany``, converting JSON, timestamps and booleans the way SQLAlchemy
would store them, so that SQLAlchemy reads them back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, DateTime, Table


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return json.dumps(value, default=str)


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, in UTC.
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def bulk_insert(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column name) in one driver ``executemany``, in the caller's transaction."""
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        connection.execute(table.insert(), list(rows))
        return
    columns = list(table.columns)
    converters = []
    placeholders = []
    for column in columns:
        converter = None
        placeholder = "?" if dialect == "sqlite" else "%s"
        if isinstance(column.type, JSON):
            converter = _json
            if dialect == "postgresql":
                placeholder = "%s::json"
        elif isinstance(column.type, DateTime) and dialect == "sqlite":
            converter = _sqlite_datetime
        elif isinstance(column.type, Boolean) and dialect == "sqlite":
            converter = int
        converters.append(converter)
        placeholders.append(placeholder)
    names = [column.name for column in columns]
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(placeholders)})"
    values = [
        tuple(
            None if (value := row.get(name)) is None else (convert(value) if convert else value)
            for name, convert in zip(names, converters, strict=True)
        )
        for row in rows
    ]
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.executemany(statement, values)
    finally:
        cursor.close()
