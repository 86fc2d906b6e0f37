"""``flywheel bots create NAME FILE`` and ``flywheel chat BOT``: bots from the terminal.

Both work on the local store, like ``flywheel train --wait``: ``chat`` serves the bot in
this process, and its session lives in the store, so a server answering the same
``--session`` later carries on the same conversation.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.bots import create_bot, unrecognised
from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.models import metrics_table
from aiflywheel.interfaces.cli.render import as_json, console, error, table
from aiflywheel.kernel.conversations import Conversations
from aiflywheel.kernel.serving import Serving
from aiflywheel.kinds.bot.definition import parse_text

app = typer.Typer(help="Conversational bots: create them from a YAML or JSON definition (see docs/bots.md).")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The bot's name (also its dataset, model and endpoint)")],
    file: Annotated[Path, typer.Argument(help="The bot definition, YAML or JSON")],
    json: JsonOption = False,
) -> None:
    """Create or update a bot from its definition, train it and serve it at endpoint NAME."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the definition {file}: {exc}") from exc
    fw = platform(ctx)
    version, endpoint = create_bot(fw, name, parse_text(text, str(file)))
    if json:
        as_json(version)
        return
    console.print(f"bot [bold]{name}[/] trained as {version.ref}, served at endpoint [bold]{endpoint.name}[/]")
    metrics_table(version)
    console.print(f"talk to it: `flywheel chat {name}`", highlight=False)


@app.command("unrecognised")
def unrecognised_report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The bot")],
    turns: Annotated[int, typer.Option(help="How many of the newest turns to look at")] = 5000,
    min_count: Annotated[int, typer.Option(help="Smallest group worth suggesting")] = 2,
    json: JsonOption = False,
) -> None:
    """Utterances the bot did not understand, grouped into suggested new intents."""
    count, suggestions = unrecognised(platform(ctx), name, turns, min_count)
    if json:
        as_json([vars(suggestion) for suggestion in suggestions])
        return
    table(
        f"{count} unrecognised utterance(s) of {name}, {len(suggestions)} suggested intent(s)",
        ("suggested intent", "utterances", "examples"),
        [(s.suggested_intent, s.count, " | ".join(s.examples[:3])) for s in suggestions],
    )


def chat(
    ctx: typer.Context,
    bot: Annotated[str, typer.Argument(help="The bot to talk to")],
    session: Annotated[str | None, typer.Option(help="Session id to carry on (default: a new one)")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show intent, confidence, slots and dialog state")] = False,
) -> None:
    """Talk to a bot in the terminal; an empty line or Ctrl-D ends the chat."""
    fw = platform(ctx)
    serving = Serving(fw.engine, fw.artifacts, fw.kinds, fw.model_cache, fw.prediction_log.start())
    conversations = Conversations(fw.engine, fw.project_id)
    session_id = session or f"cli-{uuid.uuid4().hex[:12]}"
    console.print(f"[dim]chatting with {bot} (session {session_id}); an empty line ends it[/]")
    try:
        while True:
            try:
                text = console.input("[bold]you>[/] ").strip()
            except EOFError:
                break
            if not text:
                break
            try:
                reply = conversations.turn(serving, bot, session_id, {"text": text})
            except InvalidInput as exc:
                error(exc.message)
                continue
            console.print(f"[bold green]{bot}>[/] {reply.prediction['message']}", highlight=False)
            if debug:
                p = reply.prediction
                console.print(
                    f"[dim]{p['intent']} ({p['confidence']:.2f}) {p['dialog_state']} slots={p['slots']}"
                    f" prediction={reply.prediction_id}[/]",
                    highlight=False,
                )
    finally:
        serving.close()
