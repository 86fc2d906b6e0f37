"""``flywheel kinds list``: what this installation can train and serve."""

from __future__ import annotations

import typer

from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.render import as_json, table

app = typer.Typer(help="Installed kinds (services and model types).", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """List installed kinds with their parameters."""
    kinds = platform(ctx).kinds.all()
    described = [
        {
            "name": kind.name,
            "description": kind.description,
            "pretrained": kind.pretrained,
            "services": sorted(getattr(kind, "services", {})),
            "primary_metric": kind.primary_metric.name,
            "params": kind.Params.model_json_schema(),
        }
        for kind in kinds
    ]
    if json:
        as_json(described)
        return
    rows = [(d["name"], d["description"], ", ".join(d["params"].get("properties", {}))) for d in described]
    table("kinds", ("name", "description", "parameters"), rows)
