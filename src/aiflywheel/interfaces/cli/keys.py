"""``flywheel keys create|list|revoke``: manage API keys locally, against the home's store."""

from __future__ import annotations

from typing import Annotated

import typer

from aiflywheel.interfaces.cli.context import JsonOption, platform, state
from aiflywheel.interfaces.cli.render import as_json, console, table
from aiflywheel.kernel.keys import Keys, Role

app = typer.Typer(help="API keys for the REST API and the SDK.", no_args_is_help=True)


@app.command()
def create(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(help="reader: read and predict; writer: + change; admin: + keys")],
    project: Annotated[str | None, typer.Option(help="Project of the key (default: --project, else default)")] = None,
    name: Annotated[str, typer.Option(help="A note to recognise the key by")] = "",
    json: JsonOption = False,
) -> None:
    """Create a key and print it (it is stored only hashed: this is the only time it is shown)."""
    key, info = Keys(platform(ctx).engine).create(role, project or state(ctx).project, name)
    if json:
        as_json({"key": key, "info": info.model_dump(mode="json")})
        return
    console.print(f"{info.role.value} key for project {info.project!r} (shown once):", highlight=False)
    print(key)


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the project's keys (ids and roles; the secrets are not stored)."""
    found = Keys(platform(ctx).engine).list(state(ctx).project)
    if json:
        as_json(found)
        return
    table(
        "keys",
        ("key id", "role", "name", "revoked", "created"),
        ((k.key_id, k.role.value, k.name, k.revoked, k.created_at) for k in found),
    )


@app.command()
def revoke(ctx: typer.Context, key_id: str, json: JsonOption = False) -> None:
    """Revoke a key by its id (the part after fw_); running servers refuse it within 30 s."""
    revoked = Keys(platform(ctx).engine).revoke(key_id)
    if json:
        as_json(revoked)
        return
    console.print(f"key {revoked.key_id} revoked")
