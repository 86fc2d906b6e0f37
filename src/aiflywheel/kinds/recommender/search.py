"""Choosing the model: candidates and a light hyper-parameter search on a time-ordered split.

Each user's latest ``k`` distinct items are the test set; the ``k`` before them the
validation set (users with too short a history stay whole in training). Every
candidate is fitted on what precedes validation and scored by NDCG@10 on it.

The default search is staged, because a search that fits everything costs ten times one
factor-model fit: popularity and EASE (two λs, sharing one Gram matrix) are scored at one
recency half-life, then the half-life of the best is climbed. The models that cover the
whole catalogue (BM25 item-item, ALS, BPR) join only when they can matter: when EASE's
dense items hold less than half of what users took in validation, as happens on
catalogues far beyond ``max_dense_items``. ``search="full"`` scores every candidate at
every half-life.

The test metrics of a history model (popularity, item-item, EASE) reuse its validation fit,
scoring each test user from the whole history before the test; a factor model, whose user
rows come from its fit, is refitted on what precedes the test. The served model is the
winner fitted on everything (while the test is scored), except that an item-item or EASE
winner keeps its validation fit when the rows it did not see add less than ``REFIT_GROWTH``
to those it did and fewer than ``REFIT_NEW_ITEMS`` of them are on items it never saw: it
scores users from their whole history at serving time anyway, and on both MovieLens sets the
refit did not change NDCG@10 (0.1939 refitted, 0.1941 not; 0.1174 and 0.1165).
``refit="always"`` refits every winner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from aiflywheel.kernel.kinds import Progress
from aiflywheel.kinds.components.blas import blas_threads
from aiflywheel.kinds.recommender.data import Interactions, user_min
from aiflywheel.kinds.recommender.metrics import K, ranking_metrics, top_k
from aiflywheel.kinds.recommender.models import (
    MODELS,
    THREADS,
    Ease,
    EaseSystem,
    Model,
    Popularity,
    ease_system,
    import_engines,
    most_taken,
)
from aiflywheel.kinds.recommender.params import RecommenderParams

MIN_KEPT = 3  # a user keeps at least this many items for training when some are held out
HALF_LIVES = (2.0, 4.0, 10.0, 25.0, None)  # shortest memory first; None: no decay
FIRST_HALF_LIFE = 4.0  # where the staged search starts climbing (the best on both MovieLens sets)
WIDE = ("item_item", "als", "bpr")  # the candidates that cover the whole catalogue
WIDE_BELOW_DENSE_SHARE = 0.5  # staged: WIDE joins when EASE's items hold less than this of validation
REFIT_GROWTH = 0.25  # see the module's docstring
REFIT_NEW_ITEMS = 0.01
RECENT_SHARE = 0.2  # "recent" popularity counts the latest fifth of the interactions
CHUNK = 256  # users scored at once


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

    @property
    def ndcg(self) -> float:
        return self.scores.get(f"ndcg@{K}", 0.0)


@dataclass
class Selection:
    best: Candidate
    tried: list[Candidate]
    test_metrics: dict[str, Any]
    model: Model  # the served model: the winner fitted on every interaction, or its validation fit
    refitted: bool = True
    skipped: str | None = None  # why the WIDE candidates were left out, when they were


def grid(p: RecommenderParams, wide: bool = True) -> list[Candidate]:
    """The candidates, light by design: one fit each (the half-life is searched without refitting).

    The factor models stop at 8 (ALS) and 15 (BPR) iterations: on MovieLens validation they score
    as well there as at 15 and 40, for half the time. ``wide=False`` leaves out the ``WIDE`` ones
    unless ``algorithm`` asks for one.
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
        return [candidate for candidate in found if candidate.algorithm == p.algorithm]
    return [candidate for candidate in found if wide or candidate.algorithm not in WIDE]


def dense_share(inter: Interactions, rows: np.ndarray, held: np.ndarray, most: int) -> tuple[int, float]:
    """(how many items EASE keeps in a fit on ``rows``, the share of ``held`` interactions on them)."""
    dense = np.zeros(inter.n_items, dtype=bool)
    dense[most_taken(np.bincount(inter.item[rows], minlength=inter.n_items), most)] = True
    return int(dense.sum()), float(dense[inter.item[held]].mean()) if len(held) else 1.0


def holdout(inter: Interactions, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held): among ``rows``, each user's latest ``k`` items are held out if the user keeps enough."""
    user = inter.user[rows]
    rank = inter.rank[rows]
    relative = rank - user_min(user, rank, inter.n_users)
    sizes = np.bincount(user, minlength=inter.n_users)
    held = (relative < k) & (sizes[user] >= k + MIN_KEPT)
    return rows[~held], rows[held]


class Grams:
    """EASE's systems of one training matrix, by item limit: computed once, shared by the λs (threads)."""

    def __init__(self, matrix: sp.csr_matrix):
        self.matrix = matrix
        self._found: dict[int, EaseSystem] = {}
        self._lock = threading.Lock()

    def get(self, most: int) -> EaseSystem:
        with self._lock:
            if most not in self._found:
                self._found[most] = ease_system(self.matrix, most)
            return self._found[most]


def fit(inter: Interactions, candidate: Candidate, rows: np.ndarray, grams: Grams | None = None) -> Model:
    """``candidate``'s model fitted on ``rows``; ``grams`` (of ``inter.matrix(rows)``) spares EASE's product."""
    model = MODELS[candidate.algorithm](inter.n_items, candidate.settings)
    if candidate.algorithm == "popularity":
        return model.set_counts(popularity_counts(inter, rows, candidate.settings.get("window", "all")))
    if isinstance(model, Ease) and grams is not None:
        return model.fit_system(grams.get(int(candidate.settings["max_items"])))
    return model.fit(inter.matrix(rows) if grams is None else grams.matrix)


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
    """Metrics of ``model`` at predicting each of ``users``' held-out items from their history in ``rows``.

    ``seen`` is ``inter.matrix(rows)`` when the caller already has it.
    """
    seen = inter.matrix(rows) if seen is None else seen
    top = top_items(inter, model, rows, users, half_life, seen)
    return ranking_metrics(top, _truth(inter, held, users), inter.n_items, K)


def top_items(
    inter: Interactions, model: Model, rows: np.ndarray, users: np.ndarray, half_life: float | None, seen: sp.csr_matrix
) -> np.ndarray:
    """Each of ``users``' ``K`` best items by ``model`` from their history in ``rows``, ``seen`` left out."""
    top = _popular_top(model.counts, seen[users], K) if isinstance(model, Popularity) else None
    if top is None:
        history = inter.history(half_life, rows)
        tops = []
        for start in range(0, len(users), CHUNK):  # dense users × items scores: bounded memory on big catalogues
            chunk = users[start : start + CHUNK]
            tops.append(_chunk_top(model, history[chunk], chunk, seen[chunk]))
        top = np.vstack(tops) if tops else np.empty((0, K), dtype=np.int64)
    return top


def select(
    inter: Interactions,
    p: RecommenderParams,
    progress: Progress,
    span: tuple[float, float],
    on_model: Callable[[Candidate, Model], None] | None = None,
) -> Selection:
    """Search on the validation split; report the winner's test metrics and the baseline's; fit the winner.

    ``on_model`` gets the winner and the served model in this thread while the test split is scored.
    """
    rng = np.random.default_rng(p.seed)
    everything = np.arange(len(inter.user))
    before_test, test = holdout(inter, everything, p.validation_items)
    before_valid, valid = holdout(inter, before_test, p.validation_items)
    valid_users = _sample(np.unique(inter.user[valid]), p.max_eval_users, rng)
    test_users = _sample(np.unique(inter.user[test]), p.max_eval_users, rng)
    n_dense, share = dense_share(inter, before_valid, valid, p.max_dense_items)
    wide = p.search == "full" or share < WIDE_BELOW_DENSE_SHARE
    candidates = grid(p, wide)
    skipped = None
    if not wide and p.algorithm == "auto":
        skipped = (
            f"item-item, ALS and BPR not tried: EASE's {n_dense} items hold {share:.0%} of the "
            f"validation interactions (search='full' tries them)"
        )
        progress.log(skipped)
    start, end = span
    grams = Grams(inter.matrix(before_valid))

    def score(model: Model, candidate: Candidate, life: float | None, began: float) -> Candidate:
        scored = Candidate(candidate.algorithm, candidate.settings, life)
        if len(valid_users):
            scored.scores = score_split(inter, model, before_valid, valid, valid_users, life, grams.matrix)
        scored.seconds = time.perf_counter() - began
        return scored

    def validate(candidate: Candidate) -> tuple[Model, list[Candidate]]:
        began = time.perf_counter()
        model = fit(inter, candidate, before_valid, grams)
        return model, [score(model, candidate, life, began) for life in _first_lives(p, model, candidate)]

    tried: list[Candidate] = []
    if any(candidate.algorithm in WIDE for candidate in candidates):  # implicit's models: imported only if used
        import_engines()

    def record(found: list[Candidate]) -> None:
        for scored in found:
            tried.append(scored)
            progress.log(f"{scored.describe()}: validation NDCG@{K} {scored.ndcg:.4f}")

    # Two jobs at a time: fits and scorings release the GIL. EASE's shared system is made first while the
    # other thread scores the popularity baseline and candidates; the other candidates then start slowest
    # first. BLAS keeps one thread per search thread (the limit is process-wide; a second BLAS thread
    # busy-waits after each call and slows the other job). OpenBLAS runs one LAPACK call at a time, so the
    # two λs' inversions queue, each beside the other's scoring. Progress is reported from this thread only.
    # implicit checks every loaded BLAS library (OpenCV brings its own) when a fit starts: with its models
    # in the search, every library is limited for the whole search, or one thread's limit ending could
    # lift another's. Without them the one-scan controller is enough (numpy's and scipy's BLAS).
    limit = threadpool_limits(1, "blas") if any(c.algorithm in WIDE for c in candidates) else blas_threads(1)
    with limit, ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="recommender-search") as pool:
        first_end = start + (end - start) * (0.9 if p.search == "full" else 0.7)
        final_grams = Grams(inter.matrix(everything))
        with_ease = any(c.algorithm == "ease" for c in candidates)
        if with_ease and (p.refit == "always" or _needs_refit(inter, Candidate("ease", {}), before_valid)):
            pool.submit(final_grams.get, p.max_dense_items)  # an EASE winner will be refitted on everything
        if with_ease:
            pool.submit(grams.get, p.max_dense_items)
        baseline = pool.submit(_baseline_metrics, inter, before_test, test, test_users)  # fills a gap
        order = sorted(range(len(candidates)), key=lambda i: (_cost(candidates[i]) > 0, -_cost(candidates[i])))
        validated = _gather(
            pool,
            {i: (validate, candidates[i]) for i in order},
            lambda i: progress(
                start + (first_end - start) * i / len(candidates), f"validating {candidates[i].algorithm}"
            ),
        )
        for i in range(len(candidates)):
            record(validated[i][1])
        if p.search == "staged" and p.recency_half_life is None:
            leader = _leader(validated)
            if leader is not None:
                progress(first_end, "searching the recency half-life")
                record(_climb(pool, score, *validated[leader]))
        best_index, best = max(
            ((i, scored) for i, (_, found) in validated.items() for scored in found),
            key=lambda pair: (pair[1].ndcg, -_cost(pair[1])),
        )
        validated_model = validated[best_index][0]
        refit = p.refit == "always" or _needs_refit(inter, best, before_valid)
        progress(end, f"chose {best.describe()}" + ("; fitting it on every interaction" if refit else ""))
        final = pool.submit(fit, inter, best, everything, final_grams) if refit else None

        def serve() -> Model:
            model = validated_model if final is None else final.result()
            if on_model is not None:
                on_model(best, model)
            return model

        try:
            metrics, model = _test_metrics(
                pool, inter, best, validated_model, before_test, test, test_users, baseline, serve
            )
        except BaseException:
            if final is not None:
                final.cancel()
            raise
    return Selection(best, tried, metrics, model, refit, skipped)


def _needs_refit(inter: Interactions, best: Candidate, fitted: np.ndarray) -> bool:
    """Whether the served model must be refitted on everything, rather than keep the fit on ``fitted``."""
    if best.algorithm not in ("ease", "item_item"):
        return True
    later = np.ones(len(inter.user), dtype=bool)
    later[fitted] = False
    if later.sum() > REFIT_GROWTH * len(fitted):
        return True
    known = np.zeros(inter.n_items, dtype=bool)
    known[inter.item[fitted]] = True
    return bool(later.any() and (~known[inter.item[later]]).mean() >= REFIT_NEW_ITEMS)


def _first_lives(p: RecommenderParams, model: Model, candidate: Candidate) -> tuple[float | None, ...]:
    if not model.uses_history or _is_factors(candidate):
        return (None,)
    if p.recency_half_life is not None:
        return (p.recency_half_life,)
    return HALF_LIVES if p.search == "full" else (FIRST_HALF_LIFE,)


def _climb(pool: ThreadPoolExecutor, score: Callable, model: Model, found: list[Candidate]) -> list[Candidate]:
    """Move the half-life along ``HALF_LIVES`` while a neighbour scores better; both neighbours are scored side
    by side. ``found`` (the candidate at ``FIRST_HALF_LIFE``) gains the new scores, which are also returned."""
    by_life = {scored.half_life: scored for scored in found}
    at, new = HALF_LIVES.index(FIRST_HALF_LIFE), []
    while True:
        near = [n for n in (at, at - 1, at + 1) if 0 <= n < len(HALF_LIVES)]  # the current one wins ties
        missing = [n for n in near if HALF_LIVES[n] not in by_life]
        scored = _gather(pool, {n: (score, model, found[0], HALF_LIVES[n], time.perf_counter()) for n in missing})
        for n in missing:
            by_life[HALF_LIVES[n]] = scored[n]
            new.append(scored[n])
        step = max(near, key=lambda n: by_life[HALF_LIVES[n]].ndcg)
        if step == at:
            found.extend(new)
            return new
        at = step


def _leader(validated: dict[int, tuple[Model, list[Candidate]]]) -> int | None:
    """The best candidate whose score depends on the half-life, if any."""
    climbable = [i for i, (_, found) in validated.items() if found[0].half_life == FIRST_HALF_LIFE]
    return max(climbable, key=lambda i: validated[i][1][0].ndcg, default=None)


def _gather(
    pool: ThreadPoolExecutor,
    jobs: dict[int, tuple],
    before: Callable[[int], None] | None = None,
    meanwhile: Callable[[], Any] | None = None,
) -> dict[int, Any]:
    """Run ``jobs`` (number → (function, *arguments)) in the order given; collect their results by number.

    ``meanwhile`` runs in this thread once the jobs are queued; its result is returned under number -1.
    """
    futures: dict[int, Future] = {number: pool.submit(*job) for number, job in jobs.items()}
    try:
        results = {} if meanwhile is None else {-1: meanwhile()}
        for number in sorted(futures):
            if before is not None:
                before(number)
            results[number] = futures[number].result()
        return results
    except BaseException:  # a cancelled job or a failed fit: do not start the jobs still queued
        for future in futures.values():
            future.cancel()
        raise


def _test_metrics(
    pool: ThreadPoolExecutor,
    inter: Interactions,
    best: Candidate,
    validated: Model,
    before_test: np.ndarray,
    test: np.ndarray,
    users: np.ndarray,
    baseline: Future,
    meanwhile: Callable[[], Any],
) -> tuple[dict[str, Any], Any]:
    """(the winner's metrics on the test split, with ``baseline``'s beside them; what ``meanwhile`` returned).

    The winner's scoring is split in two jobs for the pool, beside the final fit if there is one, while
    ``meanwhile`` runs in this thread.
    """
    if not len(users):
        empty = {f"ndcg@{K}": 0.0, f"recall@{K}": 0.0, f"map@{K}": 0.0, f"coverage@{K}": 0.0, "n_eval_users": 0}
        return empty, meanwhile()
    seen = inter.matrix(before_test)
    model = fit(inter, best, before_test) if _is_factors(best) else validated
    halves = np.array_split(users, THREADS)
    jobs = {n: (top_items, inter, model, before_test, half, best.half_life, seen) for n, half in enumerate(halves)}
    tops = _gather(pool, jobs, meanwhile=meanwhile)
    top = np.vstack([tops[n] for n in range(len(halves))])
    metrics = ranking_metrics(top, _truth(inter, test, users), inter.n_items, K)
    metrics.update(baseline.result())
    return metrics, tops[-1]


def _baseline_metrics(inter: Interactions, before_test: np.ndarray, test: np.ndarray, users: np.ndarray) -> dict:
    """The popularity baseline's test metrics, named ``baseline_*``."""
    if not len(users):
        return {}
    baseline = Popularity(inter.n_items, {}).set_counts(popularity_counts(inter, before_test, "all"))
    found = score_split(inter, baseline, before_test, test, users, None)
    return {f"baseline_{name}": value for name, value in found.items() if name != "n_eval_users"}


def _chunk_top(model: Model, history: sp.csr_matrix, users: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    """``top_k`` of ``model.scores``; when the model scores only some items (the rest 0), a row whose ``K``-th
    best of those is positive has its answer among them, and only the other rows need the whole catalogue."""
    columns, scores = model.column_scores(history, users)
    if columns is None:
        return top_k(scores, seen, K)
    if len(columns) < K:
        return top_k(model.scores(history, users), seen, K)
    scores[seen[:, columns].nonzero()] = -np.inf
    picked = top_k(scores, None, K)
    kth = np.take_along_axis(scores, picked[:, -1:], axis=1).ravel()
    top = columns[picked]
    rest = np.flatnonzero(~(kth > 0))
    if len(rest):
        top[rest] = top_k(model.scores(history[rest], users[rest]), seen[rest], K)
    return top


def _popular_top(counts: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray | None:
    """``top_k`` of the same counts for every row, without a dense rows × items matrix: each row's first
    ``k`` unseen items in the one order of the counts. None when a row has fewer than ``k`` unseen ones."""
    order = np.lexsort((np.arange(len(counts)), -counts))  # best first, ties by index, as top_k breaks them
    most_seen = int(np.diff(seen.indptr).max()) if seen.shape[0] else 0
    head = order[: k + most_seen]
    free = seen[:, head].toarray() == 0
    if len(head) < k or (free.sum(axis=1) < k).any():
        return None
    position = np.cumsum(free, axis=1)
    picked = free & (position <= k)
    return np.broadcast_to(head, free.shape)[picked].reshape(-1, k)


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
