"""Ranking metrics at k: NDCG, recall, MAP, and catalogue coverage."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

K = 10
_DISCOUNT = 1.0 / np.log2(np.arange(2, 2 + 1000))


def top_k(scores: np.ndarray, exclude: sp.csr_matrix | None, k: int = K) -> np.ndarray:
    """Indices of each row's ``k`` best items, best first, ties by item index; entries of ``exclude`` never appear.

    Every score is used as given; rows may hold -inf. Each row's ``k``-th best value comes from
    ``np.partition`` (values only: about half the time of ``np.argpartition``); the entries at or above
    it, a few more than ``k`` per row, are then sorted once for all rows.
    """
    scores = np.array(scores, dtype=np.float32, copy=True)
    if exclude is not None and exclude.nnz:
        rows, cols = exclude.nonzero()
        scores[rows, cols] = -np.inf
    n_rows, n_items = scores.shape
    k = min(k, n_items)
    if k == 0 or n_rows == 0:
        return np.empty((n_rows, k), dtype=np.int64)
    kth = np.partition(scores, n_items - k, axis=1)[:, n_items - k]
    rows, cols = np.nonzero(scores >= kth[:, None])
    order = np.lexsort((cols, -scores[rows, cols], rows))
    rows, cols = rows[order], cols[order].astype(np.int64)
    starts = np.searchsorted(rows, np.arange(n_rows))  # every row has at least k entries at or above its k-th
    return cols[starts[:, None] + np.arange(k)]


def ranking_metrics(top: np.ndarray, truth: list[np.ndarray], n_items: int, k: int = K) -> dict[str, float]:
    """NDCG@k, Recall@k (hits over min(k, relevant)), MAP@k and the share of items recommended to anyone.

    Users with no relevant item are left out of the means; negative entries of ``top`` (padding)
    and of ``truth`` (items unknown to the model) never count as hits.
    """
    top = top[:, :k]
    sizes = np.array([len(relevant) for relevant in truth], dtype=np.int64)
    judged = sizes > 0
    # one membership test for every (user, item) pair: rows' keys against the relevant keys
    row_of = np.repeat(np.arange(len(truth), dtype=np.int64), sizes)
    items = np.concatenate(truth).astype(np.int64) if sizes.sum() else np.empty(0, np.int64)
    relevant_keys = np.where(items >= 0, row_of * n_items + items, -1)  # an unknown item (-1) is never hit
    top_keys = np.where(top >= 0, np.arange(len(top), dtype=np.int64)[:, None] * n_items + top, -2)  # -2: padding
    hits = np.isin(top_keys, relevant_keys)[judged].astype(np.float64)
    ideal = np.minimum(sizes[judged], k).astype(np.float64)
    discount = _DISCOUNT[: top.shape[1]]
    ideal_gain = np.cumsum(_DISCOUNT[:k])[ideal.astype(np.int64) - 1] if len(ideal) else ideal
    ndcg = (hits @ discount) / ideal_gain
    recall = hits.sum(axis=1) / ideal
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, top.shape[1] + 1)
    average_precision = (precision_at * hits).sum(axis=1) / ideal
    users = len(ndcg)
    return {
        f"ndcg@{k}": float(np.mean(ndcg)) if users else 0.0,
        f"recall@{k}": float(np.mean(recall)) if users else 0.0,
        f"map@{k}": float(np.mean(average_precision)) if users else 0.0,
        f"coverage@{k}": float(len(np.unique(top[top >= 0])) / n_items) if n_items else 0.0,
        "n_eval_users": users,
    }
