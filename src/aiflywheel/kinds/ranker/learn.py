"""Learning to rank: LightGBM LambdaRank over the fused candidates' features, trained from judgments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.ranker.data import Judgments
from aiflywheel.kinds.ranker.index import Candidates, SearchIndex
from aiflywheel.kinds.ranker.metrics import DEPTH, K, summarize
from aiflywheel.kinds.ranker.params import FeatureSet, RankerParams, TreeSettings
from aiflywheel.kinds.ranker.trees import TreeEnsemble


@dataclass(frozen=True)
class Variant:
    """One re-ranker the out-of-fold check may choose: its features and its size."""

    features: FeatureSet
    trees: TreeSettings

    def describe(self) -> str:
        return f"{self.features}, {self.trees.describe()}"


def variants(p: RankerParams) -> list[Variant]:
    return [Variant(features, trees) for features in p.feature_sets for trees in p.trees()]


def train_reranker(index: SearchIndex, judged: Judgments, p: RankerParams, progress=None):
    """(booster or None, out-of-fold metrics, summary): a re-ranker is kept only when it beats the fusion.

    With at least ``min_judged_queries`` judged queries, they are split into
    ``validation_folds`` folds; each fold's queries are ranked by re-rankers trained on the
    other folds, one per variant (feature set x size of model). The variant whose
    out-of-fold rankings have the best nDCG@10 is chosen (the first listed on a tie) and,
    when it beats reciprocal-rank fusion's nDCG@10 on the same queries, trained on every
    judged query and kept. The metrics are the chosen variant's out-of-fold ones: every
    judged query counts once, never seen by its ranker (the choice itself saw them all, so
    they lean optimistic when there are several variants).
    """

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    metrics: dict = {f"ndcg@{K}": None}
    summary: dict = {"reranker": False, "judged_queries": len(judged)}
    if len(judged) < p.min_judged_queries:
        summary["note"] = (
            f"{len(judged)} judged queries (min_judged_queries={p.min_judged_queries} train a re-ranker): "
            "the fusion ranks alone"
        )
        return None, metrics, summary
    report(0.5, f"retrieving candidates for {len(judged)} judged queries")
    pools = gather(index, judged, p)
    keys = list(judged.queries)
    tried = variants(p) if p.rerank else []
    ranked: dict[str, dict[str, list[str]]] = {"bm25_": {}, "fusion_": {}}
    by_variant: list[dict[str, list[str]]] = [{} for _ in tried]
    folds = np.array_split(np.random.default_rng(p.seed).permutation(len(keys)), p.validation_folds)
    for number, fold in enumerate(folds):
        held = {keys[i] for i in fold}
        for key in held:
            ranked["bm25_"][key] = _ids(index, pools[key], lexical_order(pools[key], index))
            ranked["fusion_"][key] = _ids(index, pools[key], order(pools[key], None)[0])
        training = {k: pools[k] for k in keys if k not in held}
        for at, variant in enumerate(tried):
            step = (number * len(tried) + at) / (len(folds) * len(tried))
            report(0.5 + 0.4 * step, f"cross-validating the re-ranker: fold {number + 1}, {variant.describe()}")
            trial = fit(index, training, judged, p, variant)
            if trial is not None:
                for key in held:
                    by_variant[at][key] = _ids(index, pools[key], order(pools[key], trial)[0])
    scores: dict = {}
    for prefix, rankings in ranked.items():
        scores.update(summarize(rankings, judged.relevance, prefix))
    complete = [rankings if len(rankings) == len(keys) else {} for rankings in by_variant]
    tried_scores = [summarize(rankings, judged.relevance, "rerank_") if rankings else {} for rankings in complete]
    ndcgs = [found.get(f"rerank_ndcg@{K}") or 0.0 for found in tried_scores]
    best = int(np.argmax(ndcgs)) if tried else None
    wins = best is not None and ndcgs[best] > (scores.get(f"fusion_ndcg@{K}") or 0)
    if best is not None:
        scores.update(tried_scores[best])
    chosen = "rerank_" if wins else "fusion_"
    metrics.update({name[len(chosen) :]: value for name, value in scores.items() if name.startswith(chosen)})
    metrics.update({f"baseline_{name}": value for name, value in scores.items() if not name.startswith(chosen)})
    metrics["held_out_queries"] = len(keys)
    booster = None
    if wins:
        report(0.9, f"training the re-ranker on every judged query: {tried[best].describe()}")
        booster = fit(index, pools, judged, p, tried[best])
    summary.update(reranker=booster is not None, chosen="lambdarank" if wins else "fusion")
    if tried:
        summary["variants"] = {variant.describe(): round(ndcg, 4) for variant, ndcg in zip(tried, ndcgs, strict=True)}
    if wins:
        summary["variant"] = tried[best].describe()
    return booster, metrics, summary


def _ids(index: SearchIndex, pool: Candidates, ranking: np.ndarray) -> list[str]:
    return [index.doc_ids[row] for row in pool.rows[ranking][:DEPTH]]


def gather(index: SearchIndex, judged: Judgments, p: RankerParams) -> dict[str, Candidates]:
    """The fused candidates of every judged query (queries embedded in one batch)."""
    keys = list(judged.queries)
    queries = index.analyze_queries([judged.queries[key] for key in keys])
    return {key: index.candidates(query, p.candidates, p.rrf_k, None) for key, query in zip(keys, queries, strict=True)}


def fit(
    index: SearchIndex, pools: dict[str, Candidates], judged: Judgments, p: RankerParams, variant: Variant
) -> TreeEnsemble | None:
    """LambdaRank boosters (``boosters`` seeds, averaged), or None when no query has a relevant candidate.

    The "scores" features are the first columns of the candidates' features, so a model
    trained on them alone scores the full feature rows unchanged.

    Bagging makes one booster's held-out nDCG@10 move by about 0.007 from seed to seed on
    Cranfield; the average of several is steadier and better.
    """
    import lightgbm as lgb

    names = index.feature_names(normalized=variant.features == "query_normalized")
    width = len(names)
    features, labels, groups = [], [], []
    for key, pool in pools.items():
        gains = judged.relevance[key]
        label = np.array([gains.get(index.doc_ids[row], 0) for row in pool.rows], dtype=np.int64)
        if len(label) < 2 or label.max() == 0:
            continue  # no relevant candidate: nothing to learn from this query
        features.append(pool.features[:, :width])
        labels.append(label)
        groups.append(len(label))
    if not groups:
        return None
    top = int(max(label.max() for label in labels))
    if top > 30:
        raise InvalidInput(f"relevance must be at most 30 for LambdaRank (got {top})")
    train = lgb.Dataset(
        np.vstack(features),
        np.concatenate(labels),
        group=groups,
        feature_name=names,
        free_raw_data=True,
    )
    settings = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [10],
        "learning_rate": p.learning_rate,
        "num_leaves": variant.trees.num_leaves,
        "min_data_in_leaf": variant.trees.min_data_in_leaf,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambdarank_truncation_level": 20,
        "label_gain": [float(gain) for gain in range(31)],  # linear gains, as nDCG is reported
        "num_threads": 1,  # OpenMP threads spin on a busy machine: one thread was many times faster here
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    boosters = []
    for seed in range(p.seed, p.seed + p.boosters):
        settings["seed"] = seed
        boosters.append(lgb.train(settings, train, num_boost_round=variant.trees.num_trees))
    return TreeEnsemble.from_boosters(boosters)


def order(pool: Candidates, booster: TreeEnsemble | None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate positions best first and their scores: the booster's, else reciprocal-rank fusion's."""
    if len(pool.rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    scores = booster.predict(pool.features) if booster is not None else pool.rrf
    ranking = np.lexsort((pool.rows, -scores))
    return ranking, scores[ranking]


def lexical_order(pool: Candidates, index: SearchIndex) -> np.ndarray:
    column = index.feature_names().index("lexical_rank")
    return np.lexsort((pool.rows, pool.features[:, column]))
