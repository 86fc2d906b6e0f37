"""A served ranker: analyse queries, retrieve, fuse, re-rank, boost, filter; empty and unmatched queries explained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from aiflywheel.kinds.ranker import filters as attribute_filters
from aiflywheel.kinds.ranker.index import SearchIndex
from aiflywheel.kinds.ranker.learn import order
from aiflywheel.kinds.ranker.params import RankerParams
from aiflywheel.kinds.ranker.requests import parse
from aiflywheel.kinds.ranker.trees import TreeEnsemble

EMPTY_NOTE = "empty query: type some words to search for"
UNMATCHED_NOTE = "no document matches this query: none of its words is in the index and nothing is close in meaning"
FILTERED_NOTE = "no document passes the filters"


class RankerPredictor:
    def __init__(self, index: SearchIndex, booster: TreeEnsemble | None, params: RankerParams):
        self.index = index
        self.booster = booster
        self.params = params
        self._boost_values = self._scaled_boosts()

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        requests = parse(batch)
        allowed = [attribute_filters.mask(self.index.attributes, r.filters) for r in requests]
        for request in requests:
            if request.facets is not None:
                attribute_filters.facets(self.index.attributes, request.facets, np.zeros(0, dtype=np.int64))
        texts = [r.query for r in requests if r.query.strip()]
        analysed = iter(self.index.analyze_queries(texts))
        out = []
        for request, passing in zip(requests, allowed, strict=True):
            if not request.query.strip():
                out.append({"results": [], "note": EMPTY_NOTE})
                continue
            out.append(self._answer(request, next(analysed), passing))
        return out

    def _answer(self, request, query, passing) -> dict[str, Any]:
        if passing is not None and not passing.any():
            return {"results": [], "note": FILTERED_NOTE}
        pool = self.index.candidates(query, max(self.params.candidates, request.k), self.params.rrf_k, passing)
        answer: dict[str, Any] = {}
        if query.corrected:
            answer["corrected"] = dict(query.corrected)
        if pool.lexical_hits == 0 and pool.best_similarity < self.params.min_similarity:
            answer.update(results=[], note=UNMATCHED_NOTE)
            return answer
        ranking, scores = order(pool, self.booster)
        rows = pool.rows[ranking]
        if self._boost_values is not None and len(rows):
            spread = scores.max() - scores.min()
            scaled = (scores - scores.min()) / spread if spread > 0 else np.ones_like(scores)
            scores = scaled + self._boost_values[rows]
            again = np.lexsort((rows, -scores))
            rows, scores = rows[again], scores[again]
        answer["results"] = [
            {"doc_id": self.index.doc_ids[row], "score": round(float(score), 6)}
            for row, score in zip(rows[: request.k], scores[: request.k], strict=True)
        ]
        if request.facets is not None:
            answer["facets"] = attribute_filters.facets(self.index.attributes, request.facets, rows)
        return answer

    def _scaled_boosts(self) -> np.ndarray | None:
        """Sum over boosted attributes of weight x the attribute min-max scaled to [0, 1] (missing = 0)."""
        if not self.params.boosts:
            return None
        total = np.zeros(len(self.index.doc_ids))
        for column, weight in self.params.boosts.items():
            values = self.index.attributes[column].astype(np.float64).to_numpy(na_value=np.nan)
            low, high = np.nanmin(values), np.nanmax(values)
            scaled = (values - low) / (high - low) if high > low else np.where(np.isnan(values), 0.0, 1.0)
            total += weight * np.nan_to_num(scaled, nan=0.0)
        return total

    # -- storage -----------------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.index.save(folder)
        if self.booster is not None:
            self.booster.save(folder / "reranker.json")
        (folder / "params.json").write_text(self.params.model_dump_json(indent=2))

    @classmethod
    def load(cls, folder: Path) -> RankerPredictor:
        params = RankerParams.model_validate(json.loads((folder / "params.json").read_text()))
        trees = folder / "reranker.json"
        booster = TreeEnsemble.load(trees) if trees.exists() else None
        return cls(SearchIndex.load(folder), booster, params)
