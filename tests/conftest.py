"""Shared fixtures: a fresh store per test (SQLite, or PostgreSQL when TEST_STORE_URL is set) and real data."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aiflywheel.backends.store.schema import metadata
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.settings import Settings
from aiflywheel.testing import BaselineKind, LexiconKind

# Read before the autouse fixture clears FLYWHEEL_*; this name is the test suite's, not the product's.
TEST_STORE_URL = os.environ.get("TEST_STORE_URL")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_flywheel_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("FLYWHEEL_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared datasets are missing: expected them at {SHARED_DATA}")
    return SHARED_DATA


def empty_store_url(folder: Path) -> str:
    """A URL to an empty metadata store: a new SQLite file in ``folder``, or the emptied TEST_STORE_URL."""
    if not TEST_STORE_URL:
        return f"sqlite:///{folder / 'flywheel.db'}"
    engine = create_engine(TEST_STORE_URL)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return TEST_STORE_URL


@pytest.fixture
def store_url(tmp_path) -> str:
    """A URL to an empty metadata store."""
    return empty_store_url(tmp_path)


@pytest.fixture(scope="module")
def module_store_url(tmp_path_factory) -> str:
    """An empty store shared by a module's tests (which must then not use ``store_url``: it empties it)."""
    return empty_store_url(tmp_path_factory.mktemp("store"))


@pytest.fixture
def settings(tmp_path, store_url) -> Settings:
    return Settings.build(home=tmp_path / "home", store=store_url, executor="thread", workers=2, environ={})


@pytest.fixture
def kinds() -> KindRegistry:
    """Entry-point kinds plus the test-only baseline and lexicon kinds."""
    registry = KindRegistry.from_entry_points()
    registry.add(BaselineKind)
    registry.add(LexiconKind)
    return registry


@pytest.fixture
def platform(settings, kinds) -> Platform:
    fw = Platform(settings, kinds)
    yield fw
    fw.close()


@pytest.fixture(autouse=True)
def _collect_after_each_test():
    # An unclosed connection warns when it is collected; collecting here blames the test that leaked it,
    # instead of whichever later test the collector happens to run in.
    yield
    gc.collect()
