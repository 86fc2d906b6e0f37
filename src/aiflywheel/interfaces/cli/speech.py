"""``flywheel say`` and ``flywheel transcribe``: the tts and asr endpoints of a running Flywheel, from a terminal.

Like ``flywheel predict``, they go through the REST API at ``--url`` with ``--api-key``
(the standard invocation path: logged, and answerable with ``flywheel feedback``).
"""

from __future__ import annotations

import base64
import json as jsonlib
from pathlib import Path
from typing import Annotated

import typer

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.cli.client_commands import client
from aiflywheel.interfaces.cli.context import JsonOption
from aiflywheel.interfaces.cli.render import as_json, console

FORMATS = {".wav": "wav", ".ogg": "ogg", ".opus": "ogg", ".mp3": "mp3"}


def say(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="What to say: plain text or SSML (<speak>...</speak>); - reads stdin")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Audio file to write (.wav, .ogg or .mp3)")],
    voice: Annotated[str | None, typer.Option(help="Voice id (see GET /v1/voices); default: the endpoint's")] = None,
    sample_rate: Annotated[int | None, typer.Option(help="8000, 16000, 22050 or 24000")] = None,
    marks: Annotated[bool, typer.Option("--marks", help="Also write speech marks as JSON lines beside it")] = False,
    endpoint: Annotated[str, typer.Option(help="The tts endpoint")] = "tts",
) -> None:
    """Speak TEXT with a tts endpoint and write the audio file (its format from the file's extension)."""
    if text == "-":
        text = typer.get_text_stream("stdin").read()
    audio_format = FORMATS.get(output.suffix.lower())
    if audio_format is None:
        raise InvalidInput(f"--output {output}: the extension must be one of {', '.join(FORMATS)}")
    instance = {"text": text, "format": audio_format, "speech_marks": marks}
    instance.update({k: v for k, v in (("voice", voice), ("sample_rate", sample_rate)) if v is not None})
    answer = client(ctx).predict(endpoint, [instance])
    spoken = answer.predictions[0]
    output.write_bytes(base64.b64decode(spoken["audio"]))
    if marks:
        lines = "".join(jsonlib.dumps(mark) + "\n" for mark in spoken.get("speech_marks", []))
        output.with_suffix(".marks.jsonl").write_text(lines)
    console.print(
        f"wrote {output} ({spoken['duration_ms'] / 1000:.2f} s, {spoken['sample_rate']} Hz, voice {spoken['voice']}); "
        f"prediction {answer.prediction_ids[0]}",
        highlight=False,
        soft_wrap=True,
    )


def transcribe(
    ctx: typer.Context,
    audio_file: Annotated[Path, typer.Argument(help="WAV, FLAC, MP3, OGG or WebM file")],
    endpoint: Annotated[str, typer.Option(help="The asr endpoint")] = "asr",
    json: JsonOption = False,
) -> None:
    """Transcribe AUDIO_FILE with an asr endpoint; print the text (or, with --json, words and timings too)."""
    try:
        data = audio_file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {audio_file}: {exc.strerror or exc}") from exc
    answer = client(ctx).predict(endpoint, [{"audio": base64.b64encode(data).decode()}])
    if json:
        as_json({**answer.predictions[0], "prediction_id": answer.prediction_ids[0]})
        return
    console.print(answer.predictions[0]["text"], highlight=False, soft_wrap=True)
