"""``flywheel translate`` and ``flywheel analyze``: the language endpoints of a running Flywheel, from the shell.

Like ``flywheel predict`` they go through the SDK (``--url``, ``--api-key``) to the
standard invocations route of the endpoints ``translate`` and ``analyze``.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.cli.client_commands import client
from aiflywheel.interfaces.cli.context import JsonOption
from aiflywheel.interfaces.cli.render import as_json, console, table

TextArgument = Annotated[str, typer.Argument(help="The text, or - to read it from standard input")]


def translate(
    ctx: typer.Context,
    text: TextArgument,
    target: Annotated[str, typer.Option("--to", "-t", help="Target language (ISO 639-1)")] = "pt",
    source: Annotated[str, typer.Option("--from", "-f", help="Source language, or auto")] = "auto",
    endpoint: Annotated[str, typer.Option(help="The translation endpoint")] = "translate",
    json: JsonOption = False,
) -> None:
    """Translate a text (line breaks, HTML and Markdown kept); prints the translation and its prediction id."""
    answer = client(ctx).predict(endpoint, [{"text": _read(text), "source": source, "target": target}])
    if json:
        as_json(answer)
        return
    prediction = answer.predictions[0]
    console.print(prediction["text"], highlight=False, soft_wrap=True, markup=False)
    terms = ", ".join(
        f"{t['source']}->{t['target']}{'' if t['applied'] else ' (NOT applied)'}" for t in prediction.get("terms", [])
    )
    details = f"{prediction['source']}->{prediction['target']} by {prediction['engine']}" + (
        f"; terms {terms}" if terms else ""
    )
    console.print(f"[dim]{details}; prediction id {answer.prediction_ids[0]}[/dim]", highlight=False, soft_wrap=True)


def pairs(
    ctx: typer.Context,
    endpoint: Annotated[str, typer.Option(help="The translation endpoint")] = "translate",
    json: JsonOption = False,
) -> None:
    """List the language pairs a translation endpoint serves, with the engine of each."""
    found = client(ctx).endpoints.pairs(endpoint)
    if json:
        as_json(found)
        return
    rows = [(pair["source"], pair["target"], pair["engine"]) for pair in found]
    table(f"pairs of {endpoint}", ("source", "target", "engine"), rows)


def analyze(
    ctx: typer.Context,
    text: TextArgument,
    endpoint: Annotated[str, typer.Option(help="The text-analytics endpoint")] = "analyze",
    json: JsonOption = False,
) -> None:
    """Analyse a text: language, sentiment, entities, key phrases and PII (with the redacted text)."""
    answer = client(ctx).predict(endpoint, [{"text": _read(text)}])
    if json:
        as_json(answer)
        return
    p: dict[str, Any] = answer.predictions[0]
    scores = ", ".join(f"{k} {v:.2f}" for k, v in p["sentiment"]["scores"].items())
    rows = [
        ("language", f"{p['language']} ({p['language_confidence']:.2f})"),
        ("sentiment", f"{p['sentiment']['label']} ({scores})"),
        ("entities", "; ".join(f"{e['text']} [{e['type']}]" for e in p["entities"]) or "-"),
        ("key phrases", "; ".join(p["key_phrases"]) or "-"),
        ("pii", "; ".join(f"{e['text']} [{e['type']}]" for e in p["pii"]) or "-"),
        ("redacted", p["redacted"]),
    ]
    if "category" in p:
        rows.append(("category", f"{p['category']['label']}"))
    table(f"analysis by {answer.model_version} (prediction id {answer.prediction_ids[0]})", ("", ""), rows)


def _read(text: str) -> str:
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise InvalidInput("the text is empty: pass it as an argument or with - on standard input")
    return text
