"""Choosing the model: candidates and a light hyper-parameter search on a time-ordered split.

Each user's latest ``k`` distinct items are the test set; the ``k`` before them the
validation set (users with too short a history stay whole in training). Every
candidate is fitted on what precedes validation and scored by NDCG@10 on it; the
winner is refitted on what precedes the test for the reported metrics (with the
popularity baseline beside them), then on everything for the model that is served.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from aiflywheel.kernel.kinds import Progress
from aiflywheel.kinds.recommender.data import Interactions
from aiflywheel.kinds.recommender.metrics import K, ranking_metrics, top_k
from aiflywheel.kinds.recommender.models import MODELS, THREADS, Model, Popularity, import_engines
from aiflywheel.kinds.recommender.params import RecommenderParams

MIN_KEPT = 3  # a user keeps at least this many items for training when some are held out
HALF_LIVES = (None, 25.0, 10.0, 4.0, 2.0)
RECENT_SHARE = 0.2
CHUNK = 256  # users scored at once  # "recent" popularity counts the latest fifth of the interactions


@dataclass
class Candidate:
    algorithm: str
    settings: dict[str, Any]
    half_life: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        shown = ", ".join(f"{key}={value}" for key, value in self.settings.items() if key not in ("seed", "max_items"))
        life = "" if self.half_life is None else f", half-life {self.half_life:g}"
        return f"{self.algorithm}({shown}{life})"


@dataclass
class Selection:
    best: Candidate
    tried: list[Candidate]
    test_metrics: dict[str, Any]


def grid(p: RecommenderParams) -> list[Candidate]:
    """The candidates, light by design: one fit each (the half-life is searched without refitting).

    The factor models stop at 8 (ALS) and 15 (BPR) iterations: on MovieLens validation they score
    as well there as at 15 and 40, for half the time.
    """
    base = {"seed": p.seed}
    found = [
        Candidate("popularity", {"window": "all"}),
        Candidate("popularity", {"window": "recent"}),
        Candidate("item_item", {"neighbours": 100}),
        Candidate("ease", {"l2": 200.0, "max_items": p.max_dense_items}),
        Candidate("ease", {"l2": 800.0, "max_items": p.max_dense_items}),
        Candidate("als", {"factors": 64, "regularization": 0.05, "alpha": 5.0, "iterations": 8}),
        Candidate("als", {"factors": 32, "regularization": 0.1, "alpha": 1.0, "iterations": 8}),
        Candidate("bpr", {"factors": 64, "learning_rate": 0.05, "regularization": 0.01, "iterations": 15}),
    ]
    for candidate in found:
        candidate.settings.update(base)
    if p.algorithm != "auto":
        found = [candidate for candidate in found if candidate.algorithm == p.algorithm]
    return found


def holdout(inter: Interactions, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held): among ``rows``, each user's latest ``k`` items are held out if the user keeps enough."""
    user = inter.user[rows]
    rank = inter.rank[rows]
    lowest = np.full(inter.n_users, np.inf)
    np.minimum.at(lowest, user, rank)
    relative = rank - lowest[user]
    sizes = np.bincount(user, minlength=inter.n_users)
    held = (relative < k) & (sizes[user] >= k + MIN_KEPT)
    return rows[~held], rows[held]


def fit(inter: Interactions, candidate: Candidate, rows: np.ndarray) -> Model:
    model = MODELS[candidate.algorithm](inter.n_items, candidate.settings)
    if candidate.algorithm == "popularity":
        return model.set_counts(popularity_counts(inter, rows, candidate.settings.get("window", "all")))
    return model.fit(inter.matrix(rows))


def popularity_counts(inter: Interactions, rows: np.ndarray, window: str) -> np.ndarray:
    if window == "recent" and len(rows):
        cut = np.quantile(inter.last[rows], 1.0 - RECENT_SHARE)
        rows = rows[inter.last[rows] >= cut]
    return np.bincount(inter.item[rows], minlength=inter.n_items).astype(np.float32)


def score_split(
    inter: Interactions,
    model: Model,
    rows: np.ndarray,
    held: np.ndarray,
    users: np.ndarray,
    half_life: float | None,
    seen: sp.csr_matrix | None = None,
) -> dict[str, Any]:
    """Metrics of ``model`` (fitted on ``rows``) at predicting each of ``users``' held-out items.

    ``seen`` is ``inter.matrix(rows)`` when the caller already has it.
    """
    history = inter.history(half_life, rows)
    seen = inter.matrix(rows) if seen is None else seen
    tops = []
    for start in range(0, len(users), CHUNK):  # dense users × items scores: bounded memory on big catalogues
        chunk = users[start : start + CHUNK]
        tops.append(top_k(model.scores(history[chunk], chunk), seen[chunk], K))
    top = np.vstack(tops) if tops else np.empty((0, K), dtype=np.int64)
    truth = _truth(inter, held, users)
    return ranking_metrics(top, truth, inter.n_items, K)


def select(inter: Interactions, p: RecommenderParams, progress: Progress, span: tuple[float, float]) -> Selection:
    """Search the grid on the validation split; report the winner's test metrics and the baseline's."""
    rng = np.random.default_rng(p.seed)
    everything = np.arange(len(inter.user))
    before_test, test = holdout(inter, everything, p.validation_items)
    before_valid, valid = holdout(inter, before_test, p.validation_items)
    valid_users = _sample(np.unique(inter.user[valid]), p.max_eval_users, rng)
    test_users = _sample(np.unique(inter.user[test]), p.max_eval_users, rng)
    candidates = grid(p)
    start, end = span
    seen = inter.matrix(before_valid)

    def validate(candidate: Candidate) -> list[Candidate]:
        began = time.perf_counter()
        model = fit(inter, candidate, before_valid)
        lives = HALF_LIVES if model.uses_history and not _is_factors(candidate) else (None,)
        if p.recency_half_life is not None and model.uses_history and not _is_factors(candidate):
            lives = (p.recency_half_life,)
        found = []
        for life in lives:
            scored = Candidate(candidate.algorithm, candidate.settings, life)
            if len(valid_users):
                scored.scores = score_split(inter, model, before_valid, valid, valid_users, life, seen)
            scored.seconds = time.perf_counter() - began
            found.append(scored)
        return found

    tried: list[Candidate] = []
    import_engines()
    # Two candidates at a time: fits and scorings release the GIL, and the slowest (factor models) start
    # first so that the cheap ones fill the other core. BLAS keeps one thread per search thread (the
    # limit is process-wide), and progress is reported from this thread only.
    with (
        threadpool_limits(1, "blas"),
        ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="recommender-search") as pool,
    ):
        slowest_first = sorted(range(len(candidates)), key=lambda i: -_cost(candidates[i]))
        futures = {i: pool.submit(validate, candidates[i]) for i in slowest_first}
        try:
            for number, candidate in enumerate(candidates):
                progress(start + (end - start) * number / len(candidates), f"validating {candidate.algorithm}")
                for scored in futures[number].result():
                    tried.append(scored)
                    ndcg = scored.scores.get(f"ndcg@{K}", 0.0)
                    progress.log(f"{scored.describe()}: validation NDCG@{K} {ndcg:.4f}")
        except BaseException:  # a cancelled job or a failed fit: do not start the candidates still queued
            for future in futures.values():
                future.cancel()
            raise
    best = max(tried, key=lambda c: (c.scores.get(f"ndcg@{K}", 0.0), -_cost(c)))
    progress(end, f"chose {best.describe()}")
    metrics: dict[str, Any] = {}
    if len(test_users):
        model = fit(inter, best, before_test)
        metrics = score_split(inter, model, before_test, test, test_users, best.half_life)
        baseline = Popularity(inter.n_items, {}).set_counts(popularity_counts(inter, before_test, "all"))
        for name, value in score_split(inter, baseline, before_test, test, test_users, None).items():
            if name != "n_eval_users":
                metrics[f"baseline_{name}"] = value
    else:
        metrics = {f"ndcg@{K}": 0.0, f"recall@{K}": 0.0, f"map@{K}": 0.0, f"coverage@{K}": 0.0, "n_eval_users": 0}
    return Selection(best, tried, metrics)


def _truth(inter: Interactions, held: np.ndarray, users: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(inter.user[held], kind="stable")
    held_users = inter.user[held][order]
    held_items = inter.item[held][order]
    starts = np.searchsorted(held_users, users, side="left")
    ends = np.searchsorted(held_users, users, side="right")
    return [held_items[a:b] for a, b in zip(starts, ends, strict=True)]


def _sample(users: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    if len(users) <= most:
        return users
    return np.sort(rng.choice(users, size=most, replace=False))


def _is_factors(candidate: Candidate) -> bool:
    return candidate.algorithm in ("als", "bpr")


def _cost(candidate: Candidate) -> float:
    return {"popularity": 0, "item_item": 1, "ease": 2, "als": 3, "bpr": 4}[candidate.algorithm]
