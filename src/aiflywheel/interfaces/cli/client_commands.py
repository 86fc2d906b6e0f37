"""``flywheel predict`` and ``flywheel feedback``: calls to a running Flywheel through the SDK.

Unlike the other commands, these do not open the store: they go through the REST API
at ``--url`` with ``--api-key`` (or ``FLYWHEEL_URL`` and ``FLYWHEEL_API_KEY``), as any
application would.
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Any

import typer

from aiflywheel.errors import InvalidInput, Unauthorized
from aiflywheel.interfaces.cli.context import JsonOption, state
from aiflywheel.interfaces.cli.render import as_json, cell, console, table
from aiflywheel.interfaces.sdk import Client


def client(ctx: typer.Context) -> Client:
    """An SDK client for ``--url`` and ``--api-key``; closed when the command ends."""
    settings = state(ctx).settings
    if not settings.api_key:
        raise Unauthorized(
            f"no API key for {settings.url}: pass --api-key KEY or set FLYWHEEL_API_KEY "
            "(create one with `flywheel keys create --role writer`)"
        )
    sdk = Client(settings.url, settings.api_key)
    ctx.call_on_close(sdk.close)
    return sdk


def predict(
    ctx: typer.Context,
    endpoint: Annotated[str, typer.Argument(help="Endpoint to call")],
    input_: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help='Instances: a .json file (an object, a list of objects or {"instances": [...]}), '
            "a .jsonl file (one object a line), or the JSON itself",
        ),
    ],
    json: JsonOption = False,
) -> None:
    """Predict instances with an endpoint of a running Flywheel; print each prediction's id for feedback."""
    answer = client(ctx).predict(endpoint, read_instances(input_))
    if json:
        as_json(answer)
        return
    table(
        f"{len(answer.predictions)} prediction(s) by {answer.model_version}",
        ("prediction id", "prediction"),
        zip(answer.prediction_ids, map(summary, answer.predictions), strict=True),
    )


def feedback(
    ctx: typer.Context,
    prediction_id: Annotated[str, typer.Argument(help="The prediction's id, as predict printed it")],
    event_id: Annotated[str, typer.Option(help="Your id of this feedback event; sending it again is harmless")],
    label: Annotated[str | None, typer.Option(help="The true answer (JSON if it parses: 1 is a number)")] = None,
    outcome: Annotated[str | None, typer.Option(help="What happened (JSON if it parses)")] = None,
    reward: Annotated[float | None, typer.Option(help="A numeric reward")] = None,
    json: JsonOption = False,
) -> None:
    """Send feedback on a prediction: exactly one of --label, --outcome or --reward."""
    given = [
        name for name, value in (("--label", label), ("--outcome", outcome), ("--reward", reward)) if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput(f"give exactly one of --label, --outcome or --reward (got {', '.join(given) or 'none'})")
    record = client(ctx).feedback(prediction_id, event_id, label=decode(label), outcome=decode(outcome), reward=reward)
    if json:
        as_json(record)
        return
    what = "was already recorded" if record.duplicate else "recorded"
    console.print(f"feedback {record.event_id} on {record.prediction_id} {what}", highlight=False, soft_wrap=True)


def read_instances(value: str) -> list[Any]:
    """The instances ``--input`` names: a .json or .jsonl file, or inline JSON.

    Raises
    ------
    InvalidInput
        Naming the file (and line) or the inline text that is not usable.
    """
    path = Path(value).expanduser()
    if value.lstrip()[:1] in ("{", "["):
        document = _parse(value, "--input")
    elif path.is_file():
        if path.suffix.lower() == ".jsonl":
            return _jsonl(path)
        document = _parse(_read(path), str(path))
    else:
        raise InvalidInput(f"--input {value!r} is neither a file nor JSON (an object or a list of objects)")
    if isinstance(document, dict):
        document = document["instances"] if set(document) == {"instances"} else [document]
    if not isinstance(document, list) or not document:
        raise InvalidInput(f"--input {value!r} holds no instances: expected an object or a non-empty list")
    return document


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc


def _parse(text: str, where: str) -> Any:
    try:
        return jsonlib.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{where} is not valid JSON: {exc}") from exc


def _jsonl(path: Path) -> list[Any]:
    lines = _read(path).splitlines()
    instances = [_parse(line, f"{path} line {number}") for number, line in enumerate(lines, 1) if line.strip()]
    if not instances:
        raise InvalidInput(f"{path} holds no instances")
    return instances


def decode(value: str | None) -> Any:
    """A command-line value as JSON if it parses (``1``, ``true``, ``"x"``), else the string itself."""
    if value is None:
        return None
    try:
        return jsonlib.loads(value)
    except ValueError:
        return value


def summary(prediction: Any) -> str:
    """A prediction in one line: its scalar fields (``label=benign score=0.0312``); --json shows all of it."""
    if not isinstance(prediction, dict):
        return cell(prediction)
    scalars = [f"{key}={cell(value)}" for key, value in prediction.items() if not isinstance(value, dict | list)]
    return " ".join(scalars) or jsonlib.dumps(prediction)
