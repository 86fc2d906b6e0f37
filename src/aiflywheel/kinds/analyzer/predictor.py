"""A served analyzer: language, sentiment, entities, key phrases, PII (with redaction) and the custom classifier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.analyzer import pii
from aiflywheel.kinds.analyzer.classifier import Head
from aiflywheel.kinds.analyzer.linguistics import english_pipeline
from aiflywheel.kinds.analyzer.params import AnalyzerParams
from aiflywheel.kinds.analyzer.requests import parse
from aiflywheel.kinds.analyzer.sentiment import builtin_sentiment, labelled
from aiflywheel.kinds.components.embeddings import text_embedder
from aiflywheel.kinds.components.language_id import identify, language_identifier

MANIFEST = "analyzer.json"
# A text is refused as another language only when the identifier is sure and has enough to go on:
# short English ("Good case.") often scores as some other language with low confidence.
SURE = 0.9
LONG_ENOUGH = 20


class AnalyzerPredictor:
    def __init__(self, params: AnalyzerParams, head: Head | None = None):
        self.params = params
        self.head = head
        self._embedder = text_embedder()
        self._sentiment = builtin_sentiment()
        self._english = english_pipeline()
        language_identifier()  # loaded now, not on the first request

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        requests = parse(batch, self.params.max_chars)
        if not requests:
            return []
        languages = [self._language(position, text, given) for position, (text, given) in enumerate(requests)]
        texts = [text for text, _ in requests]
        vectors = self._embedder.embed(texts)
        polarity, vader = self._sentiment.polarity(texts, vectors)
        sentiments = [labelled(float(z), v) for z, v in zip(polarity, vader, strict=True)]
        categories = None
        if self.head is not None:
            trained = self.head.predict(vectors)
            if self.params.target == "sentiment":
                sentiments = trained
            else:
                categories = trained
        readings = self._english.read(texts, self.params.max_key_phrases)
        out = []
        for row, text in enumerate(texts):
            reading = readings[row]
            names = [(e.start, e.end) for e in reading.entities if e.type == "PERSON"]
            found = [s for s in pii.find(text, names) if s.type in self.params.pii_types]
            answer: dict[str, Any] = {
                "language": languages[row][0],
                "language_confidence": round(languages[row][1], 4),
                "sentiment": sentiments[row],
                "entities": [e.as_dict() for e in reading.entities],
                "key_phrases": reading.key_phrases,
                "pii": [s.as_dict() for s in found],
                "redacted": pii.redact(text, found),
            }
            if categories is not None:
                answer["category"] = categories[row]
            out.append(answer)
        return out

    def _language(self, position: int, text: str, given: str | None) -> tuple[str, float]:
        supported = self.params.languages
        if given is not None:
            if given not in supported:
                raise InvalidInput(
                    f"request {position}: 'language' {given!r} is not supported; this model analyses {supported}"
                )
            return given, 1.0
        found = identify(text)
        if found.language in supported:
            return found.language, found.confidence
        if found.confidence >= SURE and len(text.strip()) >= LONG_ENOUGH:
            raise InvalidInput(
                f"request {position}: 'text' is in {found.language!r} (detected, confidence "
                f"{found.confidence:.2f}); this model analyses {supported}"
            )
        among = identify(text, among=supported)
        return among.language, among.confidence

    # -- storage -----------------------------------------------------------------------------------------

    @classmethod
    def load(cls, folder: Path) -> AnalyzerPredictor:
        manifest = json.loads((folder / MANIFEST).read_text())
        return cls(AnalyzerParams.model_validate(manifest["params"]), Head.load(folder))


def save_model(folder: Path, params: AnalyzerParams, head: Head | None) -> None:
    """What ``AnalyzerPredictor.load`` reads: the params (a manifest) and the trained head, if any."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(json.dumps({"params": params.model_dump(mode="json")}, indent=2))
    if head is not None:
        head.save(folder)
