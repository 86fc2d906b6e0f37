"""``flywheel jobs list|show|logs|cancel``."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.render import as_json, console, key_values, table
from aiflywheel.kernel.jobs import JobState

app = typer.Typer(help="Training and other long-running work.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    state: Annotated[JobState | None, typer.Option(help="Only jobs in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    json: JsonOption = False,
) -> None:
    """List recent jobs, newest first."""
    found = platform(ctx).jobs.list(state=state, limit=limit)
    if json:
        as_json(found)
        return
    rows = [
        (j.id, j.spec.get("kind"), j.spec.get("dataset"), j.state.value, f"{j.progress:.0%}", j.message, j.created_at)
        for j in found
    ]
    table("jobs", ("id", "kind", "dataset", "state", "progress", "message", "created"), rows)


@app.command()
def show(ctx: typer.Context, job_id: int, json: JsonOption = False) -> None:
    """Show one job: state, progress, timings, result or error."""
    job = platform(ctx).jobs.get(job_id)
    if json:
        as_json(job)
        return
    key_values(
        f"job {job.id}",
        [
            ("type", job.type),
            ("state", job.state.value),
            ("progress", f"{job.progress:.0%}"),
            ("message", job.message),
            ("kind", job.spec.get("kind")),
            ("dataset", job.spec.get("dataset")),
            ("model", job.spec.get("model")),
            ("attempts", job.attempts),
            ("worker", job.worker),
            ("created", job.created_at),
            ("started", job.started_at),
            ("finished", job.finished_at),
            ("error", job.error),
            (
                "result",
                f"model {job.result['model']}:{job.result['version']}"
                if job.result and "model" in job.result
                else job.result,
            ),
        ],
    )


@app.command()
def logs(
    ctx: typer.Context,
    job_id: int,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends")] = False,
    json: JsonOption = False,
) -> None:
    """Print a job's log."""
    jobs = platform(ctx).jobs
    lines = jobs.logs(job_id)
    if json:
        as_json(lines)
        return
    last = 0
    while True:
        for line in lines:
            console.print(f"[dim]{line.at:%H:%M:%S}[/] {line.message}", highlight=False, markup=False)
            last = line.id
        if not follow or jobs.get(job_id).state.finished:
            return
        time.sleep(0.5)
        lines = jobs.logs(job_id, after=last)


@app.command()
def cancel(ctx: typer.Context, job_id: int, json: JsonOption = False) -> None:
    """Cancel a queued job, or ask a running one to stop."""
    job = platform(ctx).jobs.cancel(job_id)
    if json:
        as_json(job)
        return
    console.print(f"job {job.id}: {job.state.value} ({job.message})")
