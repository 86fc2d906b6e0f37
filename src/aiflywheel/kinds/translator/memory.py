"""A per-project translation memory: approved translations of sentences, reused for exact and near matches.

Filled from training rows (an uploaded memory) and from corrections sent as feedback;
near matches are found with RapidFuzz's normalised edit-distance ratio.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

FILE = "memory.json"


@dataclass(frozen=True)
class Match:
    source: str
    target: str
    similarity: float


def _key(sentence: str) -> str:
    return " ".join(sentence.split()).casefold()


class TranslationMemory:
    def __init__(self, entries: list[dict[str, str]] | None = None):
        # (source language, target language) -> normalised source sentence -> (source, approved translation)
        self._by_pair: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        for entry in entries or []:
            self.add(entry["source_language"], entry["target_language"], entry["source"], entry["target"])

    def __len__(self) -> int:
        return sum(len(sentences) for sentences in self._by_pair.values())

    @property
    def entries(self) -> list[dict[str, str]]:
        return [
            {"source_language": s, "target_language": t, "source": source, "target": target}
            for (s, t), sentences in self._by_pair.items()
            for source, target in sentences.values()
        ]

    def add(self, source_language: str, target_language: str, source: str, target: str) -> None:
        """Remember an approved translation; a later approval of the same sentence wins."""
        self._by_pair.setdefault((source_language, target_language), {})[_key(source)] = (source, target)

    def lookup(self, sentence: str, source: str, target: str, min_similarity: float) -> Match | None:
        pair = self._by_pair.get((source, target))
        if not pair:
            return None
        key = _key(sentence)
        if key in pair:
            return Match(*pair[key], 1.0)
        best = process.extractOne(key, pair.keys(), scorer=fuzz.ratio, score_cutoff=min_similarity * 100)
        if best is None:
            return None
        return Match(*pair[best[0]], round(best[1] / 100, 4))

    def save(self, folder: Path) -> None:
        (folder / FILE).write_text(json.dumps(self.entries, ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, folder: Path) -> TranslationMemory:
        path = folder / FILE
        return cls(json.loads(path.read_text()) if path.exists() else [])
