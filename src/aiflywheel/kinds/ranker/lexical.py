"""Lexical retrieval: BM25 (bm25s) over Snowball-stemmed words, one index per text field and one over all."""

from __future__ import annotations

import importlib
import re
import sys
from functools import lru_cache

import numpy as np
import Stemmer


def _bm25s_without_numba():
    """bm25s, imported with numba hidden unless something already loaded it.

    bm25s imports numba whenever it is installed (the forecaster's statsforecast brings
    it), for a retrieval backend this index never calls: that alone added about 80 MB to a
    served ranker's resident memory. bm25s falls back to NumPy when the import fails.
    """
    if "numba" in sys.modules:
        return importlib.import_module("bm25s")
    sys.modules["numba"] = None  # makes ``import numba`` raise ImportError
    try:
        return importlib.import_module("bm25s")
    finally:
        del sys.modules["numba"]


bm25s = _bm25s_without_numba()
_STOP = frozenset(importlib.import_module("bm25s.stopwords").STOPWORDS_EN)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def analyze(text: str) -> list[str]:
    """Lower-cased words, English stop words dropped, Snowball-stemmed.

    >>> analyze("The Flows over heated wings")
    ['flow', 'over', 'heat', 'wing']
    """
    words = [word for word in _WORD.findall(str(text).lower()) if word not in _STOP]
    return _stemmer().stemWords(words)


class FieldIndex:
    """BM25 scores of every document for a query, on one field's text."""

    def __init__(self, texts: list[str]):
        self._retriever = bm25s.BM25()
        tokens = [analyze(text) for text in texts]
        self._retriever.index(tokens, show_progress=False)
        self.vocabulary: dict[str, int] = self._retriever.vocab_dict
        self.n_docs = len(texts)

    def known(self, terms: list[str]) -> list[int]:
        return [self.vocabulary[term] for term in terms if term and term in self.vocabulary]

    def scores(self, terms: list[str]) -> np.ndarray:
        """One BM25 score per document (zeros when no term is in the field's vocabulary)."""
        ids = self.known(terms)
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)


class LexicalIndex:
    """A BM25 index per field, and one over the concatenation of all fields (``all``)."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = list(fields)
        joined = [" ".join(parts) for parts in zip(*fields.values(), strict=True)]
        self.by_field = {name: FieldIndex(texts) for name, texts in fields.items()}
        self.all = FieldIndex(joined)

    def field_scores(self, terms: list[str]) -> dict[str, np.ndarray]:
        return {name: index.scores(terms) for name, index in self.by_field.items()}

    def vocabulary_hits(self, terms: list[str]) -> int:
        """How many of the query's terms some document contains."""
        return len(self.all.known(terms))
