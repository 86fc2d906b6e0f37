"""Alembic environment: runs on the connection handed over by ``engine.upgrade``."""

from alembic import context

from aiflywheel.backends.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through aiflywheel.backends.store.engine.upgrade(engine).")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
