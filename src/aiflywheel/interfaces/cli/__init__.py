"""The ``flywheel`` command line: parse, call the kernel, render. No business logic here."""

from __future__ import annotations

import sys

import typer

from aiflywheel.errors import FlywheelError
from aiflywheel.interfaces.cli import (
    batch,
    bots,
    client_commands,
    datasets,
    demo,
    endpoints,
    flywheel,
    forecast,
    jobs,
    keys,
    kinds,
    language,
    models,
    speech,
    train,
    up,
    vision,
)
from aiflywheel.interfaces.cli.context import configure
from aiflywheel.interfaces.cli.render import error

app = typer.Typer(
    name="flywheel",
    help="Flywheel: a self-hosted AI cloud. Datasets, training jobs, a model registry and AI services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.callback()(configure)
app.add_typer(datasets.app, name="datasets")
app.add_typer(jobs.app, name="jobs")
app.add_typer(models.app, name="models")
app.add_typer(kinds.app, name="kinds")
app.add_typer(endpoints.app, name="endpoints")
app.add_typer(keys.app, name="keys")
app.add_typer(flywheel.app, name="policy")
app.add_typer(bots.app, name="bots")
app.add_typer(vision.app, name="vision")
app.command("deploy")(endpoints.deploy)
app.command("batch-predict")(batch.batch_predict)
app.command("train")(train.train)
app.command("install")(train.install)
app.command("up")(up.up)
app.command("demo")(demo.demo)
app.command("predict")(client_commands.predict)
app.command("feedback")(client_commands.feedback)
app.command("forecast")(forecast.forecast)
app.command("say")(speech.say)
app.command("transcribe")(speech.transcribe)
app.command("translate")(language.translate)
app.command("language-pairs")(language.pairs)
app.command("analyze")(language.analyze)
app.command("retrain")(flywheel.retrain)
app.command("history")(flywheel.history)
app.command("approve")(flywheel.approve)
app.command("reject")(flywheel.reject)
app.command("chat")(bots.chat)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``flywheel`` script: one clear line and a non-zero exit for any Flywheel error."""
    try:
        app(args=argv, prog_name="flywheel")
    except FlywheelError as exc:
        error(exc.message)
        sys.exit(1)
    except KeyboardInterrupt:
        error("interrupted")
        sys.exit(130)
