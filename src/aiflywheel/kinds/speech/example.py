"""Tiny data for the conformance suite: a lexicon for ``tts``; a spoken clip and its transcript for ``asr``.

``example.ogg`` (Opus, 16 kHz, 4 s) is flite's slt voice saying ``EXAMPLE_TEXT``; it ships
with the package so the example needs no engine.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample

EXAMPLE_AUDIO = Path(__file__).with_name("example.ogg")
EXAMPLE_TEXT = "Please call Stella. Ask her to bring these things from the store."


def example_audio_base64() -> str:
    return base64.b64encode(EXAMPLE_AUDIO.read_bytes()).decode()


def tts_example() -> KindExample:
    return KindExample(
        train=pa.table({"word": ["SQL", "Flywheel"], "alias": ["sequel", "fly wheel"]}),
        params={"voice": "slt"},
        batch=[
            {"text": "SQL costs $3.50 at 10:30."},
            {"text": '<speak><s>One</s><break time="200ms"/><s>two</s></speak>', "speech_marks": True},
            {"text": "Short.", "format": "mp3", "sample_rate": 8000},
        ],
        bad_batch=[{"text": "<speak><blink>no</blink></speak>"}],
        bad_params={"sample_rate": 12345},
        feedback=[
            FeedbackRecord(
                input={"text": "GIF"}, output={"voice": "slt"}, feedback={"label": {"word": "GIF", "alias": "jif"}}
            )
        ],
    )


def asr_example() -> KindExample:
    clip = example_audio_base64()
    return KindExample(
        train=pa.table({"audio": [clip], "text": [EXAMPLE_TEXT]}),
        params={},
        batch=[{"audio": clip}, {"audio": clip, "word_timestamps": False}],
        bad_batch=[{"audio": base64.b64encode(b"this is not audio at all").decode()}],
        bad_params={"beam_size": 0},
        feedback=[
            FeedbackRecord(
                input={"audio": clip}, output={"text": "please call stella"}, feedback={"label": EXAMPLE_TEXT}
            )
        ],  # fmt: skip
    )
