"""Text-to-speech: text or SSML → lexicon → spoken form → one voice, sentence by sentence → an audio file.

Each sentence is synthesised on its own, so sentence speech marks are exact; word marks
inside a sentence are spread over its duration by the words' lengths in letters (an
estimate: the engines report no word timings).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Progress
from aiflywheel.kinds.components.spoken import spoken_form
from aiflywheel.kinds.speech import audio, ssml, voices
from aiflywheel.kinds.speech.audio import Audio

MANIFEST = "tts.json"
SENTENCE_PAUSE_MS = 250
_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"')\]]*\s+")
JOB_MAX_CHARACTERS = 100_000  # a synthesis job (an audiobook chapter); one invocation takes max_characters
AudioFormat = Literal["wav", "ogg", "mp3", "pcm"]


class TtsParams(BaseModel):
    """A voice and its project settings; changing them installs a new model version."""

    model_config = ConfigDict(extra="forbid")

    voice: str = Field("auto", description="Default voice id (auto: the neural voice when installed, else flite slt).")
    format: AudioFormat = Field("wav", description="Default audio format: wav, ogg (Opus), mp3 or pcm (raw s16le).")
    sample_rate: int | None = Field(None, description="Default sample rate (8000, 16000, 22050, 24000); none: voice's.")
    lexicon: dict[str, str] = Field(
        default_factory=dict,
        description='Word → alias spoken instead ("SQL": "sequel"), or /IPA/ for voices that read phonemes.',
    )
    normalize: bool = Field(True, description="Say numbers, money, dates, abbreviations and symbols as words.")
    max_characters: int = Field(5000, ge=1, le=100_000, description="Longest text one invocation accepts.")

    @field_validator("sample_rate")
    @classmethod
    def _known_rate(cls, value: int | None) -> int | None:
        if value is not None and value not in audio.SAMPLE_RATES:
            raise ValueError(f"must be one of {', '.join(map(str, audio.SAMPLE_RATES))}")
        return value

    @field_validator("lexicon")
    @classmethod
    def _words(cls, value: dict[str, str]) -> dict[str, str]:
        for word, said in value.items():
            if not word.strip() or not said.strip():
                raise ValueError(f"entries need a word and what to say, got {word!r}: {said!r}")
        return value


class TtsRequest(BaseModel):
    """One instance: what to say, and how."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    voice: str | None = None
    format: AudioFormat | None = None
    sample_rate: int | None = None
    speech_marks: bool = False


class TtsPredictor:
    """Speaks instances with one default voice; other installed voices load on first use."""

    def __init__(self, params: TtsParams):
        self.params = params
        self._engines: dict[str, voices.Engine] = {}
        self._lock = threading.Lock()
        self._lexicon = _lexicon_pattern(params.lexicon)

    @classmethod
    def load(cls, workdir: Path) -> TtsPredictor:
        manifest = json.loads((Path(workdir) / MANIFEST).read_text())
        return cls(TtsParams.model_validate(manifest["params"]))

    def save(self, workdir: Path) -> None:
        manifest = {"kind": "tts", "params": self.params.model_dump(mode="json"), "voices": voices.listing()}
        (Path(workdir) / MANIFEST).write_text(json.dumps(manifest, indent=2))

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        requests = [self._request(f"instances[{position}]", item) for position, item in enumerate(batch)]
        return [self.speak(request) for request in requests]

    def _request(self, where: str, item: Any, max_characters: int | None = None) -> TtsRequest:
        limit = max_characters or self.params.max_characters
        if not isinstance(item, dict):
            raise InvalidInput(f'{where}: expected an object like {{"text": "..."}}')
        try:
            request = TtsRequest.model_validate(item)
        except ValueError as exc:
            problem = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
            field = ".".join(str(p) for p in problem["loc"]) or "instance"
            raise InvalidInput(f"{where}.{field}: {problem['msg']}".lstrip(".")) from exc
        if not request.text.strip():
            raise InvalidInput(f"{where}.text: the text is blank".lstrip("."))
        if len(request.text) > limit:
            remedy = "synthesise longer texts as a job" if limit < JOB_MAX_CHARACTERS else "split the text"
            raise InvalidInput(f"{where}.text: {len(request.text)} characters is over the limit of {limit} ({remedy})"
                               .lstrip("."))  # fmt: skip
        if request.sample_rate is not None and request.sample_rate not in audio.SAMPLE_RATES:
            raise InvalidInput(
                f"{where}.sample_rate: must be one of {', '.join(map(str, audio.SAMPLE_RATES))}".lstrip(".")
            )
        voices.choose(request.voice or self.params.voice)  # an unknown or missing voice is the caller's 4xx
        pieces = ssml.parse(request.text)  # bad SSML too, before any instance is spoken
        if not any(isinstance(p, ssml.Pause) or re.search(r"\w", p.text) for p in pieces):
            raise InvalidInput(f"{where}.text: there is nothing to say in it".lstrip("."))
        return request

    def speak(self, request: TtsRequest) -> dict[str, Any]:
        voice, audio_format, rate = self._output(request)
        parts, marks = [], []
        for samples, sentence_marks in self._rendered(request, voice):
            parts.append(samples)
            marks += sentence_marks
        spoken = Audio(np.concatenate(parts) if parts else np.zeros(0, np.int16), voice.sample_rate)
        out = audio.resample(spoken, rate)
        answer: dict[str, Any] = {
            "audio": base64.b64encode(audio.encode(out, audio_format)).decode(),
            **self._described(voice, audio_format, rate),
            "duration_ms": round(out.seconds * 1000),
        }
        if request.speech_marks:
            answer["speech_marks"] = marks
        return answer

    def predict_stream(self, instance: Any) -> tuple[dict[str, Any], Iterator[bytes]]:
        """Check ``instance`` now (a bad one is refused before any audio), then its audio file sentence by sentence.

        The first bytes leave after the first sentence is spoken, whatever the length of the text, and
        nothing accumulates, so a stream takes texts as long as a job does.
        """
        request = self._request("", instance, JOB_MAX_CHARACTERS)
        voice, audio_format, rate = self._output(request)

        def chunks() -> Iterator[bytes]:
            encoder = audio.Encoder(audio_format, rate)
            for samples, _ in self._rendered(request, voice):
                if data := encoder.add(audio.resample(Audio(samples, voice.sample_rate), rate).samples):
                    yield data
            yield encoder.finish()

        return self._described(voice, audio_format, rate), chunks()

    def check_job(self, instance: Any, source: Path | None) -> None:
        """A synthesis job speaks up to ``JOB_MAX_CHARACTERS`` of text; refuse anything else before it is queued."""
        self._job_request(instance, source)

    def run_job(self, instance: Any, source: Path | None, folder: Path, progress: Progress) -> dict[str, Any]:
        """Speak a long text into ``folder/speech.<format>`` (and ``speech-marks.jsonl``), reporting progress."""
        request = self._job_request(instance, source)
        voice, audio_format, rate = self._output(request)
        total, done, sentences, all_marks = max(len(request.text), 1), 0, 0, []
        with open(folder / f"speech.{audio_format}", "wb") as file:
            encoder = audio.Encoder(audio_format, rate, file)
            for samples, marks in self._rendered(request, voice):
                encoder.add(audio.resample(Audio(samples, voice.sample_rate), rate).samples)
                all_marks += marks
                said = [mark["value"] for mark in marks if mark["type"] == "sentence"]
                sentences, done = sentences + len(said), done + sum(len(value) + 1 for value in said)
                progress(min(done / total, 0.99), f"{sentences} sentences spoken")
            encoder.finish()
        if request.speech_marks:
            (folder / "speech-marks.jsonl").write_text("".join(json.dumps(mark) + "\n" for mark in all_marks))
        return {**self._described(voice, audio_format, rate), "duration_ms": round(encoder.seconds * 1000),
                "characters": len(request.text), "sentences": sentences}  # fmt: skip

    def _job_request(self, instance: Any, source: Path | None) -> TtsRequest:
        if source is not None:
            raise InvalidInput("file: a synthesis job takes text, not a file")
        return self._request("", instance, JOB_MAX_CHARACTERS)

    def _output(self, request: TtsRequest) -> tuple[voices.Voice, str, int]:
        """The voice, audio format and sample rate a request is answered in."""
        voice = voices.choose(request.voice or self.params.voice)
        audio_format = request.format or self.params.format
        rate = request.sample_rate or self.params.sample_rate or voice.sample_rate
        if audio_format == "ogg" and rate not in audio.FORMATS["ogg"][3]:
            rate = 24000 if request.sample_rate is None and self.params.sample_rate is None else rate
        return voice, audio_format, rate

    @staticmethod
    def _described(voice: voices.Voice, audio_format: str, rate: int) -> dict[str, Any]:
        return {"format": audio_format, "media_type": audio.media_type(audio_format), "sample_rate": rate,
                "voice": voice.id, "engine": voice.engine}  # fmt: skip

    def _rendered(self, request: TtsRequest, voice: voices.Voice) -> Iterator[tuple[np.ndarray, list[dict[str, Any]]]]:
        """The request spoken one sentence (or SSML break) at a time, at the voice's rate, with its speech marks."""
        engine = self._engine(voice)
        elapsed = 0
        for piece in ssml.parse(request.text):
            if isinstance(piece, ssml.Pause):
                pause = audio.silence(piece.milliseconds, voice.sample_rate)
                elapsed += len(pause)
                yield pause, []
                continue
            phonemes = piece.phonemes if voice.reads_phonemes else None
            for sentence in self._sentences(piece.text, voice) if phonemes is None else [piece.text]:
                samples = audio.louder(engine.speak(sentence, piece.prosody, phonemes), piece.prosody.volume_db)
                marks = _marks(sentence, elapsed, len(samples), voice.sample_rate)
                spoken = np.concatenate([samples, audio.silence(SENTENCE_PAUSE_MS, voice.sample_rate)])
                elapsed += len(spoken)
                yield spoken, marks

    def _sentences(self, text: str, voice: voices.Voice) -> list[str]:
        text = self._lexicon.sub(lambda m: self._say(m.group(0), voice), text) if self._lexicon else text
        if self.params.normalize:
            text = spoken_form(text)
        return [s.strip() for s in _SENTENCE_END.split(text) if s.strip() and re.search(r"\w", s)]

    def _say(self, word: str, voice: voices.Voice) -> str:
        said = self.params.lexicon.get(word) or next(
            said for known, said in self.params.lexicon.items() if known.lower() == word.lower()
        )
        if said.startswith("/") and said.endswith("/"):
            return f"[[ {said.strip('/')} ]]" if voice.reads_phonemes else word
        return said

    def _engine(self, voice: voices.Voice) -> voices.Engine:
        with self._lock:
            if voice.id not in self._engines:
                self._engines[voice.id] = voices.engine_for(voice)
            return self._engines[voice.id]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()

    def __del__(self) -> None:
        self.close()


def _lexicon_pattern(lexicon: dict[str, str]) -> re.Pattern[str] | None:
    if not lexicon:
        return None
    words = sorted(lexicon, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)


def _marks(sentence: str, start: int, length: int, sample_rate: int) -> list[dict[str, Any]]:
    """A sentence mark, and word marks spread over the sentence by letter counts."""

    def ms(samples: float) -> int:
        return round(samples * 1000 / sample_rate)

    marks = [{"type": "sentence", "time": ms(start), "end": ms(start + length), "value": sentence}]
    words = re.findall(r"[\w'’-]+", sentence)
    letters = sum(len(w) for w in words) or 1
    position = float(start)
    for word in words:
        duration = length * len(word) / letters
        marks.append({"type": "word", "time": ms(position), "end": ms(position + duration), "value": word})
        position += duration
    return marks
