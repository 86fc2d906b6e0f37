"""Learning to rank: LightGBM LambdaRank over the fused candidates' features, trained from judgments."""

from __future__ import annotations

import numpy as np

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.ranker.data import Judgments
from aiflywheel.kinds.ranker.index import Candidates, SearchIndex
from aiflywheel.kinds.ranker.metrics import DEPTH, summarize
from aiflywheel.kinds.ranker.params import RankerParams


def gather(index: SearchIndex, judged: Judgments, p: RankerParams) -> dict[str, Candidates]:
    """The fused candidates of every judged query (queries embedded in one batch)."""
    keys = list(judged.queries)
    queries = index.analyze_queries([judged.queries[key] for key in keys])
    return {key: index.candidates(query, p.candidates, p.rrf_k, None) for key, query in zip(keys, queries, strict=True)}


def fit(index: SearchIndex, pools: dict[str, Candidates], judged: Judgments, p: RankerParams):
    """A LambdaRank booster, or None when no query has a relevant document among its candidates."""
    import lightgbm as lgb

    features, labels, groups = [], [], []
    for key, pool in pools.items():
        gains = judged.relevance[key]
        label = np.array([gains.get(index.doc_ids[row], 0) for row in pool.rows], dtype=np.int64)
        if len(label) < 2 or label.max() == 0:
            continue  # no relevant candidate: nothing to learn from this query
        features.append(pool.features)
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
        feature_name=index.feature_names(),
        free_raw_data=True,
    )
    settings = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [10],
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_data_in_leaf": p.min_data_in_leaf,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambdarank_truncation_level": 20,
        "label_gain": [float(gain) for gain in range(31)],  # linear gains, as nDCG is reported
        "seed": p.seed,
        "num_threads": 1,  # OpenMP threads spin on a busy machine: one thread was many times faster here
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    return lgb.train(settings, train, num_boost_round=p.num_trees)


def order(pool: Candidates, booster) -> tuple[np.ndarray, np.ndarray]:
    """Candidate positions best first and their scores: the booster's, else reciprocal-rank fusion's."""
    if len(pool.rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    scores = booster.predict(pool.features, num_threads=1) if booster is not None else pool.rrf
    ranking = np.lexsort((pool.rows, -scores))
    return ranking, scores[ranking]


def lexical_order(pool: Candidates, index: SearchIndex) -> np.ndarray:
    column = index.feature_names().index("lexical_rank")
    return np.lexsort((pool.rows, pool.features[:, column]))


def compare(index: SearchIndex, pools: dict[str, Candidates], judged: Judgments, booster) -> dict:
    """BM25, fusion and (when trained) re-ranked metrics on the same judged queries."""

    def ids(pool, ranking):
        return [index.doc_ids[row] for row in pool.rows[ranking][:DEPTH]]

    out = summarize({k: ids(p, lexical_order(p, index)) for k, p in pools.items()}, judged.relevance, "bm25_")
    out.update(summarize({k: ids(p, order(p, None)[0]) for k, p in pools.items()}, judged.relevance, "fusion_"))
    if booster is not None:
        out.update(summarize({k: ids(p, order(p, booster)[0]) for k, p in pools.items()}, judged.relevance, "rerank_"))
    return out


def split(keys: list[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    shuffled = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]
    held = max(1, round(len(keys) * share))
    return shuffled[held:], shuffled[:held]
