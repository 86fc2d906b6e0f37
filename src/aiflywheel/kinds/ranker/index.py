"""The search index: documents, BM25 per field, sentence vectors, attributes; retrieval, fusion and features."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aiflywheel.kinds.components import embeddings
from aiflywheel.kinds.ranker.lexical import LexicalIndex, analyze

_TYPO_MIN_LENGTH = 4  # shorter words are too often another real word one letter away
_TYPO_CUTOFF = 0.8
# The scores are also standardized within each query's candidates (mean 0, standard deviation
# 1): a tree's threshold on a raw BM25 score means something else for a two-word query than for
# a twenty-word one (LETOR's query-level normalization). Not these: ranks already mean the same
# in every query, the query's length is one value per query, and two scores are already
# relative to the query's best candidate; attributes belong to the document alone.
_NOT_NORMALIZED = frozenset({"lexical_rank", "dense_rank", "query_terms", "bm25_share", "dense_gap"})


@dataclass
class Query:
    """A query as analysed: its stemmed terms (typos corrected), its vector, whether it matched anything."""

    text: str
    terms: list[str]
    vector: np.ndarray
    corrected: dict[str, str]


@dataclass
class Candidates:
    """The documents fused from both retrievers for one query, with the re-ranker's features."""

    rows: np.ndarray  # document positions in the index
    rrf: np.ndarray
    features: np.ndarray
    lexical_hits: int
    best_similarity: float


class SearchIndex:
    """Documents with their text fields, attributes, BM25 indexes and unit sentence vectors."""

    def __init__(
        self,
        doc_ids: list[str],
        fields: dict[str, list[str]],
        attributes: pd.DataFrame,
        vectors: np.ndarray,
        field_weights: dict[str, float],
    ):
        self.doc_ids = doc_ids
        self.fields = fields
        self.attributes = attributes.reset_index(drop=True)
        self.vectors = vectors.astype(np.float32)
        self.field_weights = dict(field_weights)
        self.lexical = LexicalIndex(fields)
        self.numeric = [
            name
            for name in self.attributes.columns
            if pd.api.types.is_numeric_dtype(self.attributes[name]) or pd.api.types.is_bool_dtype(self.attributes[name])
        ]
        self._normalized_columns = [
            at
            for at, name in enumerate(self._score_names())
            if name not in _NOT_NORMALIZED and not name.startswith("attr_")
        ]
        self._numeric_values = (
            self.attributes[self.numeric].astype(np.float64).to_numpy() if self.numeric else np.zeros((len(doc_ids), 0))
        )
        tokens = [analyze(" ".join(parts)) for parts in zip(*fields.values(), strict=True)]
        self._doc_length = np.array([len(words) for words in tokens], dtype=np.float32)
        self._terms = [frozenset(words) for words in tokens]
        self._pairs = [frozenset(zip(words, words[1:], strict=False)) for words in tokens]
        first = next(iter(fields.values()))
        self._first_terms = [frozenset(analyze(text)) for text in first]
        frequency: dict[str, int] = {}
        for terms in self._terms:
            for term in terms:
                frequency[term] = frequency.get(term, 0) + 1
        n = max(len(tokens), 1)
        self._idf = {term: float(np.log(1 + (n - df + 0.5) / (df + 0.5))) for term, df in frequency.items()}
        self._vocabulary = sorted(self.lexical.all.vocabulary)
        self._by_initial: dict[str, list[str]] = {}
        for term in self._vocabulary:
            if term:
                self._by_initial.setdefault(term[0], []).append(term)

    @classmethod
    def build(
        cls,
        doc_ids: list[str],
        fields: dict[str, list[str]],
        attributes: pd.DataFrame,
        field_weights: dict[str, float],
        dense_words: int = 128,
    ) -> SearchIndex:
        """Embed every document (its fields joined, cut at ``dense_words`` words) and index it.

        Documents are embedded shortest first, 16 at a time, so each batch pads to similar
        lengths (16 took 14% less CPU time than 64 over Cranfield's abstracts).
        """
        joined = [
            " ".join(". ".join(part for part in parts if part).split()[:dense_words])
            for parts in zip(*fields.values(), strict=True)
        ]
        by_length = np.argsort([len(text) for text in joined], kind="stable")
        vectors = np.empty((len(joined), embeddings.DIMENSION), dtype=np.float32)
        vectors[by_length] = embeddings.text_embedder().embed([joined[i] for i in by_length], batch_size=16)
        return cls(doc_ids, fields, attributes, vectors, field_weights)

    # -- features ----------------------------------------------------------------------------------------

    def feature_names(self, normalized: bool = True) -> list[str]:
        """The re-ranker's features: the candidates' scores, then (``z_``) some standardized within the query."""
        scores = self._score_names()
        if not normalized:
            return scores
        return [*scores, *(f"z_{scores[at]}" for at in self._normalized_columns)]

    def _score_names(self) -> list[str]:
        lexical = [f"bm25_{name}" for name in self.fields]
        return [
            *lexical,
            "bm25_all",
            "lexical_rank",
            "dense",
            "dense_rank",
            "rrf",
            "query_terms",
            "doc_terms",
            "bm25_share",
            "dense_gap",
            "coverage",
            "idf_coverage",
            "first_field_coverage",
            "bigrams",
            "feedback_dense",
            "feedback_dense_5",
            "feedback_bm25",
            *(f"attr_{name}" for name in self.numeric),
        ]

    def analyze_queries(self, texts: list[str]) -> list[Query]:
        vectors = embeddings.text_embedder().embed(texts) if texts else np.zeros((0, embeddings.DIMENSION))
        out = []
        for text, vector in zip(texts, vectors, strict=True):
            terms, corrected = self._correct(analyze(text))
            out.append(Query(text, terms, vector, corrected))
        return out

    def _correct(self, terms: list[str]) -> tuple[list[str], dict[str, str]]:
        """Terms no document has, replaced by the closest indexed term (same initial, similar spelling)."""
        known = self.lexical.all.vocabulary
        corrected: dict[str, str] = {}
        out = []
        for term in terms:
            if term in known or len(term) < _TYPO_MIN_LENGTH:
                out.append(term)
                continue
            pool = [t for t in self._by_initial.get(term[0], ()) if abs(len(t) - len(term)) <= 2]
            match = difflib.get_close_matches(term, pool, n=1, cutoff=_TYPO_CUTOFF)
            if match:
                corrected[term] = match[0]
                out.append(match[0])
            else:
                out.append(term)
        return out, corrected

    def candidates(self, query: Query, depth: int, rrf_k: float, allowed: np.ndarray | None) -> Candidates:
        """Top ``depth`` by BM25 and by dense similarity among ``allowed`` documents, fused by RRF."""
        n = len(self.doc_ids)
        per_field = self.lexical.field_scores(query.terms)
        whole = self.lexical.all.scores(query.terms)
        if self.field_weights:
            lexical = sum(self.field_weights.get(name, 1.0) * scores for name, scores in per_field.items())
        else:
            lexical = whole
        # einsum, not BLAS: a matrix-vector product through OpenBLAS's threads took 8 ms on a busy machine, this 0.2 ms
        dense = np.einsum("ij,j->i", self.vectors, query.vector.astype(np.float32))
        usable = np.ones(n, dtype=bool) if allowed is None else allowed
        lex_rank = _ranks(np.where(usable & (lexical > 0), lexical, -np.inf))
        dense_rank = _ranks(np.where(usable, dense, -np.inf))
        lex_top = np.flatnonzero((lex_rank <= depth) & usable & (lexical > 0))
        dense_top = np.flatnonzero((dense_rank <= depth) & usable) if np.any(query.vector) else np.zeros(0, int)
        rows = np.union1d(lex_top, dense_top).astype(np.int64)
        lex_part = np.where(lexical[rows] > 0, 1.0 / (rrf_k + lex_rank[rows]), 0.0)
        dense_part = np.where(np.isin(rows, dense_top), 1.0 / (rrf_k + dense_rank[rows]), 0.0)
        rrf = lex_part + dense_part
        columns = [per_field[name][rows] for name in self.fields]
        columns += [
            whole[rows],
            np.minimum(lex_rank[rows], n + 1),
            dense[rows],
            dense_rank[rows],
            rrf,
            np.full(len(rows), len(query.terms)),
            self._doc_length[rows],
        ]
        columns += [
            whole[rows] / max(float(whole[rows].max(initial=0.0)), 1e-9),
            dense[rows] - float(dense[rows].max(initial=0.0)),
            *self._overlap(query.terms, rows),
            self._feedback_similarity(rows, rrf),
            self._feedback_similarity(rows, rrf, top=5),
            self._feedback_terms(query.terms, rows, rrf),
        ]
        features = np.column_stack(columns).astype(np.float64) if len(rows) else np.zeros((0, len(columns)))
        if self.numeric:
            features = np.hstack([features, self._numeric_values[rows]])
        features = np.hstack([features, _standardized(features[:, self._normalized_columns])])
        best = float(dense[usable].max()) if usable.any() else -1.0
        return Candidates(rows, rrf, features, self.lexical.vocabulary_hits(query.terms), best)

    def _feedback_similarity(self, rows: np.ndarray, rrf: np.ndarray, top: int = 10) -> np.ndarray:
        """Pseudo-relevance feedback: each candidate's similarity to the mean vector of the fusion's top ``top``."""
        if len(rows) == 0:
            return np.zeros(0)
        best = rows[np.argsort(-rrf, kind="stable")[:top]]
        centre = self.vectors[best].mean(axis=0)
        norm = float(np.linalg.norm(centre))
        return (
            np.einsum("ij,j->i", self.vectors[rows], centre / norm).astype(np.float64)
            if norm > 0
            else np.zeros(len(rows))
        )

    def _feedback_terms(self, terms: list[str], rows: np.ndarray, rrf: np.ndarray, top: int = 10) -> np.ndarray:
        """Pseudo-relevance feedback: BM25 of the words most typical of the fusion's top ``top`` (RM3-like)."""
        if len(rows) == 0:
            return np.zeros(0)
        count: dict[str, int] = {}
        for row in rows[np.argsort(-rrf, kind="stable")[:top]]:
            for term in self._terms[row]:
                count[term] = count.get(term, 0) + 1
        asked = set(terms)
        weight = {t: c * self._idf.get(t, 0.0) for t, c in count.items() if c > 1 and t not in asked}
        extra = sorted(weight, key=lambda t: (-weight[t], t))[:top]
        return self.lexical.all.scores(extra)[rows].astype(np.float64)

    def _overlap(self, terms: list[str], rows: np.ndarray) -> list[np.ndarray]:
        """Per candidate: share of query terms it has (plain, idf-weighted, in the first field); query bigrams."""
        distinct = set(terms)
        weight = {term: self._idf.get(term, 0.0) for term in distinct}
        total = sum(weight.values()) or 1.0
        pairs = set(zip(terms, terms[1:], strict=False))
        coverage, weighted, first, bigrams = (np.zeros(len(rows)) for _ in range(4))
        for at, row in enumerate(rows):
            have = distinct & self._terms[row]
            coverage[at] = len(have) / max(len(distinct), 1)
            weighted[at] = sum(weight[term] for term in have) / total
            first[at] = len(distinct & self._first_terms[row]) / max(len(distinct), 1)
            bigrams[at] = len(pairs & self._pairs[row])
        return [coverage, weighted, first, bigrams]

    # -- storage -----------------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        table = pd.DataFrame({"doc_id": self.doc_ids, **{f"field.{k}": v for k, v in self.fields.items()}})
        table = pd.concat([table, self.attributes.add_prefix("attr.")], axis=1)
        table.to_parquet(folder / "documents.parquet", index=False)
        np.save(folder / "vectors.npy", self.vectors)
        meta = {
            "fields": list(self.fields),
            "attributes": list(self.attributes.columns),
            "field_weights": self.field_weights,
        }
        (folder / "index.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> SearchIndex:
        meta = json.loads((folder / "index.json").read_text())
        table = pd.read_parquet(folder / "documents.parquet")
        fields = {name: table[f"field.{name}"].tolist() for name in meta["fields"]}
        attributes = table[[f"attr.{name}" for name in meta["attributes"]]]
        attributes.columns = meta["attributes"]
        vectors = np.load(folder / "vectors.npy")
        return cls(table["doc_id"].tolist(), fields, attributes, vectors, meta["field_weights"])

    def describe(self) -> dict[str, Any]:
        return {
            "documents": len(self.doc_ids),
            "fields": list(self.fields),
            "attributes": list(self.attributes.columns),
            "vocabulary": len(self._vocabulary),
        }


def _standardized(columns: np.ndarray) -> np.ndarray:
    """Each column minus its mean, over its standard deviation (a constant column becomes zeros)."""
    if len(columns) == 0:
        return columns
    spread = columns.std(axis=0)
    return (columns - columns.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score, best first; -inf scores rank after every other document."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    ranks[np.isneginf(scores)] = len(scores) + 1
    return ranks
