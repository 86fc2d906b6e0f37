"""Ranking metrics at k: NDCG, recall, MAP, and catalogue coverage."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

K = 10
_DISCOUNT = 1.0 / np.log2(np.arange(2, 2 + 1000))


def top_k(scores: np.ndarray, exclude: sp.csr_matrix | None, k: int = K) -> np.ndarray:
    """Indices of each row's ``k`` best items, best first; entries of ``exclude`` never appear.

    Every score is used as given (ties break by item index); rows may hold -inf.
    """
    scores = np.array(scores, dtype=np.float32, copy=True)
    if exclude is not None and exclude.nnz:
        rows, cols = exclude.nonzero()
        scores[rows, cols] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -best), axis=1)
    return np.take_along_axis(part, order, axis=1)


def ranking_metrics(top: np.ndarray, truth: list[np.ndarray], n_items: int, k: int = K) -> dict[str, float]:
    """NDCG@k, Recall@k (hits over min(k, relevant)), MAP@k and the share of items recommended to anyone.

    Users with no relevant item are left out of the means.
    """
    ndcg, recall, average_precision = [], [], []
    for row, relevant in zip(top[:, :k], truth, strict=True):
        if len(relevant) == 0:
            continue
        hits = np.isin(row, relevant)
        ideal = min(len(relevant), k)
        ndcg.append(float((hits * _DISCOUNT[: len(row)]).sum() / _DISCOUNT[:ideal].sum()))
        recall.append(float(hits.sum() / ideal))
        precision_at = np.cumsum(hits) / np.arange(1, len(row) + 1)
        average_precision.append(float((precision_at * hits).sum() / ideal))
    users = len(ndcg)
    return {
        f"ndcg@{k}": float(np.mean(ndcg)) if users else 0.0,
        f"recall@{k}": float(np.mean(recall)) if users else 0.0,
        f"map@{k}": float(np.mean(average_precision)) if users else 0.0,
        f"coverage@{k}": float(len(np.unique(top[:, :k])) / n_items) if n_items else 0.0,
        "n_eval_users": users,
    }
