"""Settings, built once at the entry point and passed down.

This is the only module that reads ``FLYWHEEL_*`` variables. Precedence:
command-line flags, then the environment, then defaults derived from the home.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs
from pydantic import BaseModel, ConfigDict, Field


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
        How many jobs run at once in ``flywheel up``.
    """

    model_config = ConfigDict(frozen=True)

    home: Path
    store_url: str
    artifacts_url: str
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)

    @classmethod
    def build(
        cls,
        home: str | Path | None = None,
        store: str | None = None,
        artifacts: str | None = None,
        workers: int | None = None,
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
        worker_count = workers or (int(env["FLYWHEEL_WORKERS"]) if env.get("FLYWHEEL_WORKERS") else None)
        extra = {"workers": worker_count} if worker_count else {}
        return cls(home=home_path, store_url=store_url, artifacts_url=artifacts_url, **extra)
