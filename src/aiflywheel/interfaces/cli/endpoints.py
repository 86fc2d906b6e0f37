"""``flywheel deploy`` and ``flywheel endpoints list|show|configure``."""

from __future__ import annotations

from typing import Annotated

import typer

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.render import as_json, console, key_values, table
from aiflywheel.interfaces.cli.train import parse_params

app = typer.Typer(help="Endpoints: models served over REST.", no_args_is_help=True)


def split_ref(ref: str) -> tuple[str, int | None]:
    name, sep, version = ref.partition(":")
    if not sep:
        return name, None
    if not version.isdigit():
        raise InvalidInput(f"{ref!r} is not MODEL or MODEL:VERSION (the version is a number)")
    return name, int(version)


def deploy(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="MODEL or MODEL:VERSION (that version becomes the champion)")],
    endpoint: Annotated[str | None, typer.Option(help="Endpoint name (default: the model's name)")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Endpoint setting key=value, e.g. challenger_mode=shadow")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Serve a model's champion at an endpoint (created, or updated if it exists)."""
    name, version = split_ref(model)
    deployed = platform(ctx).endpoints.deploy(name, endpoint, version=version, config=parse_params(set_ or []))
    if json:
        as_json(deployed)
        return
    champion = platform(ctx).models.champion(deployed.model)
    console.print(
        f"endpoint [bold]{deployed.name}[/] serves {champion.ref if champion else deployed.model}; "
        f"POST /v1/endpoints/{deployed.name}/invocations",
        highlight=False,
        soft_wrap=True,
    )


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """List endpoints with the version each serves."""
    fw = platform(ctx)
    found = fw.endpoints.list()
    if json:
        as_json(found)
        return
    rows = []
    for endpoint in found:
        champion = fw.models.champion(endpoint.model)
        rows.append((endpoint.name, endpoint.kind, champion.ref if champion else None, endpoint.config.challenger_mode))
    table("endpoints", ("name", "kind", "champion", "challenger mode"), rows)


@app.command()
def show(ctx: typer.Context, name: str, json: JsonOption = False) -> None:
    """Show an endpoint: what it serves and how it routes and batches."""
    fw = platform(ctx)
    endpoint = fw.endpoints.get(name)
    if json:
        as_json(endpoint)
        return
    champion = fw.models.champion(endpoint.model)
    key_values(
        f"endpoint {endpoint.name}",
        [
            ("model", endpoint.model),
            ("kind", endpoint.kind),
            ("champion", champion.ref if champion else None),
            *endpoint.config.model_dump().items(),
            ("updated", endpoint.updated_at),
        ],
    )


@app.command()
def configure(
    ctx: typer.Context,
    name: str,
    set_: Annotated[list[str], typer.Option("--set", help="Setting key=value, e.g. max_batch_size=128")],
    json: JsonOption = False,
) -> None:
    """Change an endpoint's routing or batching settings."""
    updated = platform(ctx).endpoints.configure(name, parse_params(set_))
    if json:
        as_json(updated)
        return
    console.print(f"endpoint {updated.name}: " + ", ".join(f"{k}={v}" for k, v in updated.config.model_dump().items()))
