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
from aiflywheel.kinds.analyzer.requests import FEATURES, parse
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
        languages = [self._language(position, r.text, r.language) for position, r in enumerate(requests)]
        features = [self._features(position, r.features) for position, r in enumerate(requests)]
        texts = [r.text for r in requests]
        # The MiniLM vector feeds both sentiment and the classifier: computed once, only for texts that need it.
        embedded = [row for row, wanted in enumerate(features) if wanted & {"sentiment", "category"}]
        vectors = self._embedder.embed([texts[row] for row in embedded]) if embedded else None
        sentiments, categories = self._labels([texts[row] for row in embedded], vectors)
        vector_of = {row: k for k, row in enumerate(embedded)}
        # spaCy for entities, key phrases, and person names among the PII.
        parsed = [row for row, wanted in enumerate(features) if wanted & self._needs_parse]
        parses = self._english.read([texts[row] for row in parsed], self.params.max_key_phrases) if parsed else []
        readings = dict(zip(parsed, parses, strict=True))
        out = []
        for row, (text, wanted) in enumerate(zip(texts, features, strict=True)):
            answer: dict[str, Any] = {"language": languages[row][0], "language_confidence": round(languages[row][1], 4)}
            reading = readings.get(row)
            if "sentiment" in wanted:
                answer["sentiment"] = sentiments[vector_of[row]]
            if "entities" in wanted:
                answer["entities"] = [e.as_dict() for e in reading.entities]
            if "key_phrases" in wanted:
                answer["key_phrases"] = reading.key_phrases
            if "pii" in wanted:
                names = [(e.start, e.end) for e in reading.entities if e.type == "PERSON"] if reading else []
                found = [s for s in pii.find(text, names) if s.type in self.params.pii_types]
                answer["pii"] = [s.as_dict() for s in found]
                answer["redacted"] = pii.redact(text, found)
            if "category" in wanted:
                answer["category"] = categories[vector_of[row]]
            out.append(answer)
        return out

    @property
    def _needs_parse(self) -> set[str]:
        return {"entities", "key_phrases", "pii"} if "name" in self.params.pii_types else {"entities", "key_phrases"}

    def _features(self, position: int, asked: frozenset[str] | None) -> frozenset[str]:
        classifies = self.head is not None and self.params.target == "category"
        if asked is None:
            return frozenset(FEATURES if classifies else set(FEATURES) - {"category"})
        if "category" in asked and not classifies:
            raise InvalidInput(
                f"request {position}: 'features' asks for 'category' but this model has no custom classifier "
                "(train one on labelled texts)"
            )
        return asked

    def _labels(self, texts: list[str], vectors) -> tuple[list[dict], list[dict] | None]:
        """Sentiment (built-in, or the trained head with target=sentiment) and categories of the embedded texts."""
        if not texts:
            return [], None
        polarity, vader = self._sentiment.polarity(texts, vectors)
        sentiments = [labelled(float(z), v) for z, v in zip(polarity, vader, strict=True)]
        if self.head is None:
            return sentiments, None
        trained = self.head.predict(vectors)
        return (trained, None) if self.params.target == "sentiment" else (sentiments, trained)

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
