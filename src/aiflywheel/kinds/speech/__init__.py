"""Speech: the ``tts`` (text-to-speech) and ``asr`` (speech-to-text) kinds.

Engines load lazily: importing this package loads neither Whisper nor any voice, and
the GPL neural voice (piper) only ever runs in a separate process.
"""

from aiflywheel.kinds.speech.kind import AsrKind, TtsKind

__all__ = ["AsrKind", "TtsKind"]
