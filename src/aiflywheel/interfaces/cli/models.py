"""``flywheel models list|show|promote``."""

from __future__ import annotations

from typing import Annotated

import typer

from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.render import as_json, console, key_values, table
from aiflywheel.kernel.registry import ModelVersion, Stage

app = typer.Typer(help="The model registry: versions, metrics, lineage and stage.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Argument(help="Only versions of this model")] = None,
    json: JsonOption = False,
) -> None:
    """List model versions with their primary metric and lineage."""
    found = platform(ctx).models.list(model)
    if json:
        as_json(found)
        return
    rows = [
        (
            v.ref,
            v.kind,
            v.stage.value,
            f"{v.primary_metric}={_fmt(v.metrics.get(v.primary_metric))}",
            v.dataset,
            v.job_id,
        )
        for v in found
    ]
    table("model versions", ("version", "kind", "stage", "metric", "dataset", "job"), rows)


@app.command()
def show(
    ctx: typer.Context,
    model: str,
    version: Annotated[int | None, typer.Argument(help="Version (default: the champion, else the latest)")] = None,
    json: JsonOption = False,
) -> None:
    """Show one model version: metrics beside their baselines, parameters and lineage."""
    found = platform(ctx).models.get(model, version)
    if json:
        as_json(found)
        return
    key_values(
        f"model {found.ref}",
        [
            ("kind", found.kind),
            ("stage", found.stage.value),
            ("dataset", found.dataset),
            ("job", found.job_id),
            ("parent", _parent(platform(ctx).models.list(model), found)),
            ("artifact", found.artifact),
            ("created", found.created_at),
            ("params", ", ".join(f"{k}={v}" for k, v in found.params.items())),
        ],
    )
    metrics_table(found)


def metrics_table(version: ModelVersion) -> None:
    """Metrics on the held-out split, each beside its trivial baseline where the kind reports one."""
    rows = []
    for name, value in version.metrics.items():
        if name.startswith("baseline_") or not isinstance(value, int | float):
            continue
        baseline = version.metrics.get(f"baseline_{name}")
        marker = " (primary)" if name == version.primary_metric else ""
        rows.append((name + marker, _fmt(value), _fmt(baseline)))
    table(f"metrics of {version.ref} (held-out split)", ("metric", "model", "baseline"), rows)


@app.command()
def promote(
    ctx: typer.Context,
    model: str,
    version: int,
    stage: Annotated[Stage, typer.Option(help="Target stage")] = Stage.CHAMPION,
    json: JsonOption = False,
) -> None:
    """Promote a version (to champion by default; the previous holder is archived)."""
    promoted = platform(ctx).models.promote(model, version, stage)
    if json:
        as_json(promoted)
        return
    console.print(f"model {promoted.ref} is now {promoted.stage.value}")


def _fmt(value) -> str | None:
    return f"{value:.4f}" if isinstance(value, float) else value


def _parent(versions: list[ModelVersion], version: ModelVersion) -> str | None:
    parent = next((v for v in versions if v.id == version.parent_version_id), None)
    return parent.ref if parent else None
