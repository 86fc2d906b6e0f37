"""``flywheel datasets create|list|show``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.render import as_json, console, key_values, table

app = typer.Typer(help="Versioned, immutable tables (CSV, Parquet or JSONL in; Parquet stored).", no_args_is_help=True)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name; an existing name gets a new version")],
    file: Annotated[Path, typer.Argument(help="A .csv, .tsv, .parquet or .jsonl file")],
    format: Annotated[str | None, typer.Option(help="csv, parquet or jsonl (default: from the file name)")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of a CSV or JSONL file, e.g. latin-1")] = "utf-8",
    columns: Annotated[str | None, typer.Option(help="Keep only these columns (comma-separated)")] = None,
    json: JsonOption = False,
) -> None:
    """Create a dataset (or its next version) from a file."""
    selected = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    with console.status(f"reading {file.name}…"):
        version = platform(ctx).datasets.create(name, file, format=format, encoding=encoding, columns=selected)
    if json:
        as_json(version)
        return
    console.print(f"dataset [bold]{version.ref}[/]: {version.row_count} rows, {len(version.columns)} columns")
    _schema(version.columns)


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """List datasets with their latest version."""
    found = platform(ctx).datasets.list()
    if json:
        as_json(found)
        return
    rows = [
        (
            d.name,
            d.latest.version if d.latest else None,
            d.latest.row_count if d.latest else None,
            len(d.latest.columns) if d.latest else None,
            d.latest.created_at if d.latest else d.created_at,
        )
        for d in found
    ]
    table("datasets", ("name", "version", "rows", "columns", "created"), rows)


@app.command()
def show(
    ctx: typer.Context,
    name: str,
    version: Annotated[int | None, typer.Option(help="Version (default: latest)")] = None,
    json: JsonOption = False,
) -> None:
    """Show a dataset version: schema, source and a preview."""
    found = platform(ctx).datasets.version(name, version)
    if json:
        as_json(found)
        return
    key_values(
        f"dataset {found.ref}",
        [
            ("rows", found.row_count),
            ("artifact", found.artifact),
            ("source", found.source.get("file")),
            ("created", found.created_at),
        ],
    )
    _schema(found.columns)
    if found.preview:
        names = [c["name"] for c in found.columns]
        table("preview", names, ([row.get(n) for n in names] for row in found.preview[:10]))


def _schema(columns: list[dict]) -> None:
    table(
        "schema",
        ("column", "type", "logical", "nulls"),
        ((c["name"], c["type"], c["logical"], c["nulls"]) for c in columns),
    )
