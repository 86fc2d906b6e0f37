"""``flywheel say`` and ``flywheel transcribe`` through the SDK against the speech world's REST app."""

from __future__ import annotations

import json

import pytest

from aiflywheel.interfaces.cli import speech as speech_commands
from aiflywheel.interfaces.sdk import Client
from aiflywheel.testing import run_cli


@pytest.fixture
def cli(speech_world, monkeypatch, capsys):
    key = speech_world.headers["Authorization"].removeprefix("Bearer ")
    sdk = Client("http://testserver", key, http=speech_world.http)
    monkeypatch.setattr(speech_commands, "client", lambda ctx: sdk)
    return lambda *args: run_cli(capsys, *args)


def test_say_then_transcribe(cli, tmp_path):
    target = tmp_path / "hello.ogg"
    code, out, err = cli("say", "Good morning, 2 new messages.", "-o", str(target), "--voice", "slt", "--marks")
    assert code == 0, err
    assert target.read_bytes()[:4] == b"OggS" and "voice slt" in out
    marks = [json.loads(line) for line in target.with_suffix(".marks.jsonl").read_text().splitlines()]
    assert [m["value"] for m in marks if m["type"] == "word"][:4] == ["Good", "morning", "two", "new"]
    code, out, err = cli("transcribe", str(target))
    assert code == 0, err
    assert "morning" in out.lower() and "messages" in out.lower()
    code, out, _ = cli("transcribe", str(target), "--json")
    assert json.loads(out)["words"] and json.loads(out)["prediction_id"]


def test_bad_arguments_are_one_clear_line(cli, tmp_path):
    code, _, err = cli("say", "hi", "-o", str(tmp_path / "x.flac"))
    assert code == 1 and "--output" in err and "extension" in err
    code, _, err = cli("transcribe", str(tmp_path / "missing.wav"))
    assert code == 1 and "cannot read" in err
    (tmp_path / "notes.txt").write_text("not audio")
    code, _, err = cli("transcribe", str(tmp_path / "notes.txt"))
    assert code == 1 and "audio" in err and "Traceback" not in err
