"""``flywheel train KIND --dataset NAME [--target COL] [--entity COL] [--time COL] [--param k=v] [--wait]``
and ``flywheel install KIND``."""

from __future__ import annotations

import json as jsonlib
import threading
import time
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.models import metrics_table
from aiflywheel.interfaces.cli.render import as_json, console, error
from aiflywheel.kernel.jobs import Job, JobState, this_worker
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.worker import execute


def train(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="What to train, e.g. tabular (see `flywheel kinds list`)")],
    dataset: Annotated[str, typer.Option(help="Dataset to train on (its latest version)")],
    target: Annotated[str | None, typer.Option(help="Column to predict (shortcut for --param target=COL)")] = None,
    entity: Annotated[
        str | None, typer.Option(help="Column naming who an event belongs to (shortcut for --param entity_column=COL)")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--time", help="Column ordering rows in time (shortcut for --param time_column=COL)")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A kind parameter as key=value (value may be JSON)")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name to register under (default: the dataset's name)")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Run the job now and show its progress until it ends")] = False,
    json: JsonOption = False,
) -> None:
    """Queue a training job; with --wait, run it and print the metrics against the baseline."""
    params = parse_params(param or [])
    # Shortcuts for parameters several kinds share; a kind without them refuses them, naming the field.
    for name, value in (("target", target), ("entity_column", entity), ("time_column", time_column)):
        if value is not None:
            params[name] = value
    fw = platform(ctx)
    job = follow(fw, fw.train(kind, dataset, params, model=model), wait, json, "`flywheel jobs show {id}` follows it")
    if job is not None and not json:
        version = fw.models.get(job.result["model"], job.result["version"])
        console.print(f"registered [bold]{version.ref}[/] (stage {version.stage.value}, dataset {version.dataset})")
        metrics_table(version)


def install(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="A pretrained kind, e.g. tts (see `flywheel kinds list`)")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A kind parameter as key=value (value may be JSON)")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name to install as (default: the kind's name)")] = None,
    promote: Annotated[bool, typer.Option(help="Make the new version champion, so endpoints switch to it")] = True,
    json: JsonOption = False,
) -> None:
    """Install a pretrained kind with these parameters as a new model version (a lexicon, hotwords, ...)."""
    version = platform(ctx).install(kind, parse_params(param or []), model=model, promote=promote)
    if json:
        as_json(version)
        return
    console.print(f"installed [bold]{version.ref}[/] (stage {version.stage.value})")


def follow(fw: Platform, job: Job, wait: bool, json: bool, hint: str) -> Job | None:
    """Say the job is queued (``hint`` names what to do next; ``{id}`` is its id), or with ``wait`` run it here.

    Returns the succeeded job when waiting (printed with ``json``); exits non-zero when it did not succeed.
    """
    if not wait:
        if json:
            as_json(job)
        else:
            console.print(f"job {job.id} queued; `flywheel up` runs it, {hint.format(id=job.id)}", highlight=False)
        return None
    job = run_and_watch(fw, job, quiet=json)
    if json:
        as_json(job)
    if job.state != JobState.SUCCEEDED:
        error(f"job {job.id} {job.state.value}: {job.error or job.message}")
        raise typer.Exit(1)
    return job


def parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--param {pair!r} is not key=value")
        try:
            params[key.strip()] = jsonlib.loads(raw)
        except ValueError:
            params[key.strip()] = raw
    return params


def run_and_watch(fw: Platform, job: Job, quiet: bool = False) -> Job:
    """Run the job in this process (unless a running server already took it) and show progress."""
    claimed = fw.all_jobs().claim(this_worker(), job_id=job.id)
    runner = threading.Thread(target=execute, args=(fw, claimed), daemon=True) if claimed else None
    if runner:
        runner.start()
    seen = 0
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )
    try:
        with bar:
            task = bar.add_task(f"job {job.id}", total=1.0)
            while True:
                current = fw.jobs.get(job.id)
                for line in fw.jobs.logs(job.id, after=seen):
                    seen = line.id
                    if not quiet:
                        bar.console.print(f"[dim]{line.at:%H:%M:%S}[/] {line.message}", highlight=False)
                bar.update(task, completed=current.progress, description=f"job {job.id}: {current.message}"[:70])
                if current.state.finished:
                    break
                time.sleep(0.25)
    except KeyboardInterrupt:
        fw.jobs.cancel(job.id)
        error(f"cancelling job {job.id}…")
        if runner:
            runner.join()
    if runner:
        runner.join()
    return fw.jobs.get(job.id)
