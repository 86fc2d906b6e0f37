"""The served recommender: top-n, related items, re-ranking, filters, cold starts and real-time events.

A model directory holds ``recommender.json`` (format, ids are in the arrays, settings,
categories) and ``arrays.npz`` (the model's arrays, every user's history, item
attributes and text embeddings). No pickle.

Real-time events: ``recent_items`` in a request are folded into that user's history
before scoring, and the predictor remembers them (per process, bounded), so the
user's next request reflects them too. They reach training through the flywheel
(``feedback_rows``) and are forgotten when the process restarts or a new version loads.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.recommender.models import MODELS, Factors, Model
from aiflywheel.kinds.recommender.requests import Event, Request, parse

FORMAT = "aiflywheel.recommender/1"
STATE_FILE = "recommender.json"
ARRAYS_FILE = "arrays.npz"
REMEMBERED_USERS = 100_000
REMEMBERED_EVENTS = 200  # per user


class RecommenderPredictor:
    """Answers a batch of requests (see ``requests.INPUT_SCHEMA``) with ``{"items": [...]}`` each."""

    def __init__(self, state: dict[str, Any], arrays: dict[str, np.ndarray]):
        self.state = state
        self.item_ids: np.ndarray = arrays["item_ids"]
        self.user_ids: np.ndarray = arrays["user_ids"]
        self._item_list: list[str] = self.item_ids.tolist()  # plain str, for the JSON answers
        self._item_index = {item: index for index, item in enumerate(self._item_list)}
        self._user_index = {user: index for index, user in enumerate(self.user_ids.tolist())}
        n_items = len(self.item_ids)
        self.history = sp.csr_matrix(
            (arrays["history_weight"], arrays["history_item"], arrays["history_indptr"]),
            shape=(len(self.user_ids), n_items),
        )
        self.history_rank = arrays["history_rank"]  # aligned with history.data
        self.half_life: float | None = state["half_life"]
        self.model: Model = MODELS[state["algorithm"]].from_arrays(
            n_items, state["settings"], {k[6:]: v for k, v in arrays.items() if k.startswith("model.")}
        )
        self.popular = arrays["popular_recent"].astype(np.float64)
        self._tie = arrays["popular_all"].astype(np.float64) / max(1.0, float(arrays["popular_all"].max())) * 1e-6
        self.warm = np.zeros(n_items, dtype=bool)
        self.warm[: state["n_warm_items"]] = True
        self.available = arrays.get("available")
        self.embeddings = arrays.get("embeddings")
        self.categories: dict[str, np.ndarray] = {
            name: arrays[f"category.{number}"] for number, name in enumerate(state.get("categories", []))
        }
        self.event_weights: dict[str, float] = state.get("event_weights", {})
        self.cold_slots: int = state.get("cold_item_slots", 1)
        self.cold_min: float = state.get("cold_item_min_similarity", 0.35)
        self._recent: OrderedDict[str, OrderedDict[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    # -- serving --------------------------------------------------------------------------------------------

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Raises ``InvalidInput`` naming the row and field of an unusable request."""
        requests = [parse(row, position) for position, row in enumerate(batch)]
        if not requests:
            return []
        outputs: list[dict[str, Any] | None] = [None] * len(requests)
        personal = [number for number, request in enumerate(requests) if request.mode != "related"]
        if personal:
            histories = [self._remember_and_collect(requests[number]) for number in personal]
            scores = self._user_scores(histories)
            for row, number in enumerate(personal):
                outputs[number] = self._answer(requests[number], histories[row], scores[row])
        for number, request in enumerate(requests):
            if request.mode == "related":
                outputs[number] = self._related(request)
        return outputs  # type: ignore[return-value]

    def _remember_and_collect(self, request: Request) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """(trained user index or -1, items, weights, recency ranks) of the request's user, events included."""
        events = [(self._item_index.get(event.item), self._weight(event)) for event in request.recent]
        events = [(item, weight) for item, weight in events if item is not None and weight > 0]
        remembered: list[tuple[int, float]] = []
        if request.user is not None:
            with self._lock:
                memory = self._recent.get(request.user)
                if events:
                    if memory is None:
                        memory = self._recent[request.user] = OrderedDict()
                    for item, weight in events:
                        memory.pop(item, None)
                        memory[item] = weight  # the latest event of an item wins: re-sending is idempotent
                    while len(memory) > REMEMBERED_EVENTS:
                        memory.popitem(last=False)
                if memory is not None:
                    self._recent.move_to_end(request.user)
                    remembered = list(memory.items())
                while len(self._recent) > REMEMBERED_USERS:
                    self._recent.popitem(last=False)
        else:
            remembered = list(dict(events).items())
        user = self._user_index.get(request.user, -1) if request.user is not None else -1
        fresh_items = [item for item, _ in reversed(remembered)]  # newest first
        fresh_weights = [weight for _, weight in reversed(remembered)]
        if user >= 0:
            start, end = self.history.indptr[user], self.history.indptr[user + 1]
            old_items = self.history.indices[start:end]
            old_weights = self.history.data[start:end]
            old_ranks = self.history_rank[start:end]
        else:
            old_items = old_weights = old_ranks = np.empty(0)
        if not fresh_items:
            return user, old_items.astype(np.int64), old_weights.astype(np.float32), old_ranks.astype(np.float32)
        fresh = np.array(fresh_items, dtype=np.int64)
        keep = ~np.isin(old_items, fresh)
        items = np.concatenate([fresh, old_items[keep]]).astype(np.int64)
        weights = np.concatenate([np.array(fresh_weights, dtype=np.float32), old_weights[keep]]).astype(np.float32)
        ranks = np.concatenate([np.arange(len(fresh), dtype=np.float32), old_ranks[keep] + len(fresh)])
        return -1 if isinstance(self.model, Factors) else user, items, weights, ranks.astype(np.float32)

    def _weight(self, event: Event) -> float:
        weight = self.event_weights.get(event.event_type, 1.0) if event.event_type is not None else 1.0
        return weight * (1.0 if event.value is None else event.value)

    def _user_scores(self, histories: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
        n_items = len(self.item_ids)
        indptr = np.zeros(len(histories) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(items) for _, items, _, _ in histories])
        items = np.concatenate([items for _, items, _, _ in histories]) if indptr[-1] else np.empty(0, np.int64)
        weights = np.concatenate([w * self._decay(r) for _, _, w, r in histories]) if indptr[-1] else np.empty(0)
        matrix = sp.csr_matrix((weights.astype(np.float32), items, indptr), shape=(len(histories), n_items))
        users = np.array([user for user, _, _, _ in histories], dtype=np.int64)
        return self.model.scores(matrix, users)

    def _decay(self, ranks: np.ndarray) -> np.ndarray:
        if self.half_life is None:
            return np.ones(len(ranks), dtype=np.float32)
        return (0.5 ** (ranks / self.half_life)).astype(np.float32)

    def _answer(self, request: Request, history, scores: np.ndarray) -> dict[str, Any]:
        _, items, weights, ranks = history
        if request.mode == "rerank":
            return self._rerank(request, items, scores)
        allowed = self._allowed(request)
        if request.exclude_seen:
            allowed[items] = False
        if len(items) == 0:
            source, values = "popularity", self.popular
        else:
            source = "popularity" if self.model.name == "popularity" else "collaborative"
            values = scores
        ranked = self._top(values.astype(np.float64) + self._tie, allowed & self.warm, request.count)
        profile = self._profile(items, weights * self._decay(ranks)) if len(items) else None
        chosen = [{"item_id": self._item_list[i], "score": float(values[i]), "source": source} for i in ranked]
        return {"items": self._with_cold(chosen, profile, allowed, request.count)}

    def _rerank(self, request: Request, items: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        values = scores if len(items) else self.popular
        source = "collaborative" if len(items) and self.model.name != "popularity" else "popularity"
        known, unknown = [], []
        excluded = set(request.exclude_items)
        for candidate in dict.fromkeys(request.candidates or []):
            if candidate in excluded:
                continue
            index = self._item_index.get(candidate)
            if index is None:
                unknown.append({"item_id": candidate, "score": None, "source": "unknown"})
            else:
                known.append((float(values[index]) + self._tie[index], index, candidate))
        known.sort(key=lambda entry: -entry[0])
        ordered = [{"item_id": c, "score": float(values[i]), "source": source} for _, i, c in known] + unknown
        return {"items": ordered if request.n is None else ordered[: request.n]}

    def _related(self, request: Request) -> dict[str, Any]:
        index = self._item_index.get(request.item)
        allowed = self._allowed(request)
        if index is None:
            ranked = self._top(self.popular + self._tie, allowed & self.warm, request.count)
            return {"items": [self._entry(i, self.popular, "popularity") for i in ranked]}
        allowed[index] = False
        similar = self.model.related(index) if self.warm[index] else None
        profile = self.embeddings[index].astype(np.float32) if self.embeddings is not None else None
        if profile is not None and not np.any(profile):
            profile = None
        if similar is not None:
            ranked = self._top(similar.astype(np.float64) + self._tie, allowed & self.warm, request.count)
            chosen = [self._entry(i, similar, "collaborative") for i in ranked]
            return {"items": self._with_cold(chosen, profile, allowed, request.count)}
        if profile is not None:
            similarity = self.embeddings.astype(np.float32) @ profile
            ranked = self._top(similarity.astype(np.float64), allowed, request.count)
            return {"items": [self._entry(i, similarity, "content") for i in ranked]}
        ranked = self._top(self.popular + self._tie, allowed & self.warm, request.count)
        return {"items": [self._entry(i, self.popular, "popularity") for i in ranked]}

    def _entry(self, index: int, values: np.ndarray, source: str) -> dict[str, Any]:
        return {"item_id": self._item_list[index], "score": float(values[index]), "source": source}

    def _allowed(self, request: Request) -> np.ndarray:
        allowed = np.ones(len(self.item_ids), dtype=bool)
        if request.available_only and self.available is not None:
            allowed &= self.available
        if request.include_categories is not None:
            inside = np.zeros_like(allowed)
            for name in request.include_categories:
                if name in self.categories:
                    inside[self.categories[name]] = True
            allowed &= inside
        for name in request.exclude_categories:
            if name in self.categories:
                allowed[self.categories[name]] = False
        for item in request.exclude_items:
            index = self._item_index.get(item)
            if index is not None:
                allowed[index] = False
        return allowed

    @staticmethod
    def _top(values: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
        candidates = np.flatnonzero(allowed)
        if len(candidates) == 0:
            return candidates
        chosen = values[candidates]
        if len(candidates) > n:  # everything tied with the n-th best stays, so that ties go by item index
            at_least = chosen >= np.partition(chosen, len(chosen) - n)[len(chosen) - n]
            candidates, chosen = candidates[at_least], chosen[at_least]
        return candidates[np.lexsort((candidates, -chosen))][:n]

    def _profile(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
        if self.embeddings is None or self.cold_slots == 0:
            return None
        vector = (self.embeddings[items].astype(np.float32) * weights[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def _with_cold(self, chosen: list[dict], profile: np.ndarray | None, allowed: np.ndarray, n: int) -> list[dict]:
        """Give up to ``cold_item_slots`` of the list's last places to the best-matching items without history."""
        if profile is None or self.cold_slots == 0:
            return chosen
        cold = np.flatnonzero(allowed & ~self.warm)
        if len(cold) == 0:
            return chosen
        similarity = self.embeddings[cold].astype(np.float32) @ profile
        good = np.flatnonzero(similarity >= self.cold_min)
        if len(good) == 0:
            return chosen
        order = good[np.lexsort((cold[good], -similarity[good]))][: min(self.cold_slots, n)]
        extra = [
            {"item_id": self._item_list[cold[i]], "score": float(similarity[i]), "source": "content"} for i in order
        ]
        return chosen[: max(0, n - len(extra))] + extra

    # -- files ----------------------------------------------------------------------------------------------

    def save(self, workdir: Path, arrays: dict[str, np.ndarray]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        np.savez(workdir / ARRAYS_FILE, **arrays)
        (workdir / STATE_FILE).write_text(json.dumps({"format": FORMAT, **self.state}, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, workdir: Path) -> RecommenderPredictor:
        workdir = Path(workdir)
        try:
            state = json.loads((workdir / STATE_FILE).read_text())
            with np.load(workdir / ARRAYS_FILE, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, ValueError, KeyError) as exc:
            raise KindFailed(f"{workdir} does not hold a readable recommender model: {exc}") from exc
        if state.pop("format", None) != FORMAT:
            raise KindFailed(f"{workdir / STATE_FILE} is not a {FORMAT} model")
        return cls(state, arrays)
