import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from aiflywheel.backends.store import open_store
from aiflywheel.backends.store.engine import alembic_config
from aiflywheel.backends.store.schema import metadata
from aiflywheel.errors import InvalidInput


def test_migrations_create_exactly_the_schema(store_url):
    engine = open_store(store_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert {"projects", "datasets", "dataset_versions", "jobs", "job_logs", "models", "model_versions"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_migrating_twice_changes_nothing(store_url):
    open_store(store_url).dispose()
    engine = open_store(store_url)
    with engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert current == ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'sub' / 'f.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("url", ["not a url", "mysql://u:p@localhost/db", "oracle://x"])
def test_unsupported_store_urls_are_rejected_by_name(url):
    with pytest.raises(InvalidInput, match="store URL"):
        open_store(url)


def test_unreachable_postgres_is_a_clear_error():
    with pytest.raises(InvalidInput, match="cannot open the store"):
        open_store("postgresql+psycopg://nobody:wrong@127.0.0.1:1/none?connect_timeout=2")
