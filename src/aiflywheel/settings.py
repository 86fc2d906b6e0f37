"""Settings, built once at the entry point and passed down.

This is the only module that reads ``FLYWHEEL_*`` variables. Precedence:
command-line flags, then the environment, then defaults derived from the home.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aiflywheel.errors import InvalidInput


class Settings(BaseModel):
    """Where Flywheel keeps its state.

    Parameters
    ----------
    home:
        The folder holding the embedded store and artifacts.
    store_url:
        SQLAlchemy URL of the metadata store (``sqlite:///...`` or
        ``postgresql+psycopg://...``).
    artifacts_url:
        Where artifacts live: a local folder path or ``file://`` URL.
    workers:
        How many jobs run at once in ``flywheel up`` (default: the number of cores).
    executor:
        Where jobs run: ``process`` (a fresh process per job) or ``thread``.
    url, api_key:
        Where a running Flywheel answers, and the key to call it with (``flywheel predict``, ``feedback``).
    max_body_bytes:
        The largest JSON request body the REST API accepts.
    """

    model_config = ConfigDict(frozen=True)

    home: Path
    store_url: str
    artifacts_url: str
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    executor: Literal["process", "thread"] = "process"
    url: str = "http://127.0.0.1:8080"
    api_key: str | None = None
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    @classmethod
    def build(
        cls,
        home: str | Path | None = None,
        store: str | None = None,
        artifacts: str | None = None,
        workers: int | None = None,
        executor: str | None = None,
        url: str | None = None,
        api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve flags > ``FLYWHEEL_*`` environment > defaults.

        Examples
        --------
        >>> s = Settings.build(home="/tmp/fw", environ={})
        >>> s.store_url
        'sqlite:////tmp/fw/flywheel.db'
        """
        env = os.environ if environ is None else environ
        home_path = (
            Path(home or env.get("FLYWHEEL_HOME") or platformdirs.user_data_dir("flywheel", appauthor=False))
            .expanduser()
            .absolute()
        )
        store_url = store or env.get("FLYWHEEL_STORE") or f"sqlite:///{home_path / 'flywheel.db'}"
        artifacts_url = artifacts or env.get("FLYWHEEL_ARTIFACTS") or str(home_path / "artifacts")
        extra = {
            key: value
            for key, value in (
                ("workers", workers or env.get("FLYWHEEL_WORKERS")),
                ("executor", executor or env.get("FLYWHEEL_EXECUTOR")),
                ("url", url or env.get("FLYWHEEL_URL")),
                ("api_key", api_key or env.get("FLYWHEEL_API_KEY")),
                ("max_body_bytes", env.get("FLYWHEEL_MAX_BODY_BYTES")),
            )
            if value
        }
        try:
            return cls(home=home_path, store_url=store_url, artifacts_url=artifacts_url, **extra)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInput(f"setting {first['loc'][0]}: {first['msg']} (got {first['input']!r})") from exc
