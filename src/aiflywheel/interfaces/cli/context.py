"""Settings built once from the global flags; the platform opened lazily, when a command needs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from aiflywheel.kernel.platform import Platform
from aiflywheel.settings import Settings


@dataclass
class CliState:
    settings: Settings
    project: str
    _platform: Platform | None = field(default=None, repr=False)

    @property
    def platform(self) -> Platform:
        if self._platform is None:
            self._platform = Platform(self.settings, project=self.project)
        return self._platform

    def close(self) -> None:
        if self._platform is not None:
            self._platform.close()


def configure(
    ctx: typer.Context,
    home: Annotated[
        Path | None, typer.Option(help="Folder for the embedded store and artifacts \\[env: FLYWHEEL_HOME]")
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(help="Metadata store URL (sqlite:///... or postgresql+psycopg://...) \\[env: FLYWHEEL_STORE]"),
    ] = None,
    artifacts: Annotated[
        str | None, typer.Option(help="Artifact store: a folder path \\[env: FLYWHEEL_ARTIFACTS]")
    ] = None,
    project: Annotated[str, typer.Option(help="Project to work in")] = "default",
    url: Annotated[
        str | None,
        typer.Option(help="URL of a running Flywheel, for predict and feedback \\[env: FLYWHEEL_URL]"),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="API key for --url (see `flywheel keys create`) \\[env: FLYWHEEL_API_KEY]")
    ] = None,
) -> None:
    ctx.obj = CliState(Settings.build(home=home, store=store, artifacts=artifacts, url=url, api_key=api_key), project)
    ctx.call_on_close(ctx.obj.close)


def state(ctx: typer.Context) -> CliState:
    return ctx.find_root().obj


def platform(ctx: typer.Context) -> Platform:
    return state(ctx).platform


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
