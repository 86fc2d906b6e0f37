"""Open the metadata store named by a URL and bring its schema to the newest migration."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from aiflywheel.errors import InvalidInput

_MIGRATIONS = Path(__file__).parent / "migrations"
_SUPPORTED = ("sqlite", "postgresql")


def open_store(url: str, migrate: bool = True) -> Engine:
    """Return an engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    SQLite runs in WAL mode with foreign keys on and a generous busy timeout, so that
    job worker processes and the CLI can write to the same file at once.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(
            f"store URL {url!r} is not a database URL (sqlite:///PATH or postgresql+psycopg://...)"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in _SUPPORTED:
        raise InvalidInput(
            f"store URL {url!r}: backend {backend!r} is not supported; use one of {', '.join(_SUPPORTED)}"
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        # SQLAlchemy 2.0 maps a bare postgresql:// to psycopg2, which we do not install.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        engine = create_engine(parsed, pool_pre_ping=True, **_JSON)
    if migrate:
        try:
            upgrade(engine)
        except OperationalError as exc:
            raise InvalidInput(
                f"cannot open the store at {parsed.render_as_string(hide_password=True)}: {exc.orig}"
            ) from exc
    return engine


def _dumps(value) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:  # what orjson refuses (integers beyond 64 bits, exotic types) the standard library may take
        return json.dumps(value, default=str)


def _loads(value):
    # SQLite gives a JSON column numeric affinity: a stored "0" comes back as the integer 0.
    return value if isinstance(value, int | float) else orjson.loads(value)


# The prediction log writes a JSON input and output per prediction: orjson makes that several times cheaper.
_JSON = {"json_serializer": _dumps, "json_deserializer": _loads}


def _sqlite_engine(parsed) -> Engine:
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Each process owns its connections; NullPool keeps file handles from outliving a fork.
    engine = create_engine(parsed, poolclass=NullPool, connect_args={"timeout": 60}, **_JSON)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never corrupts the file and survives a process crash; only a power cut
        # can drop the last commits. FULL would fsync on every commit of the prediction log.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


_MIGRATING = threading.Lock()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    config = alembic_config()
    # Alembic's ``context`` is a module-level proxy: two threads migrating at once would swap
    # each other's connection (seen as a leaked connection when job threads start together).
    with _MIGRATING, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
