"""``flywheel batch-predict MODEL[:VERSION] --dataset NAME [--output NAME] [--wait]``."""

from __future__ import annotations

from typing import Annotated

import typer

from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.endpoints import split_ref
from aiflywheel.interfaces.cli.render import as_json, console, error
from aiflywheel.interfaces.cli.train import run_and_watch
from aiflywheel.kernel.jobs import JobState


def batch_predict(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="MODEL (its champion) or MODEL:VERSION")],
    dataset: Annotated[str, typer.Option(help="Dataset whose rows to predict (its latest version)")],
    output: Annotated[
        str | None, typer.Option(help="Name of the output dataset (default: DATASET-predictions)")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Run the job now and show its progress")] = False,
    json: JsonOption = False,
) -> None:
    """Predict every row of a dataset into a new dataset, with each row's prediction_id for feedback."""
    name, version = split_ref(model)
    fw = platform(ctx)
    job = fw.batch_predict(name, dataset, version=version, output=output)
    if wait:
        job = run_and_watch(fw, job, quiet=json)
    if json:
        as_json(job)
    elif not wait:
        console.print(f"job {job.id} queued; `flywheel up` runs it, `flywheel jobs show {job.id}` follows it")
    if wait and job.state != JobState.SUCCEEDED:
        error(f"job {job.id} {job.state.value}: {job.error or job.message}")
        raise typer.Exit(1)
    if wait and not json:
        console.print(
            f"wrote dataset [bold]{job.result['dataset']}:{job.result['version']}[/] "
            f"({job.result['rows']} rows with prediction_id and predicted_* columns)"
        )
