"""Ranking metrics over judged queries: nDCG@10 (graded, linear gain), MAP and Recall@100 (relevance > 0)."""

from __future__ import annotations

import numpy as np

K = 10
DEPTH = 100


def ndcg(ranked: list[str], gains: dict[str, int], k: int = K) -> float:
    """nDCG@k with linear gains and a log2 discount; the ideal list is every judged document."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    got = np.array([gains.get(doc, 0) for doc in ranked[:k]], dtype=np.float64)
    ideal = np.sort(np.array([g for g in gains.values() if g > 0], dtype=np.float64))[::-1][:k]
    best = float((ideal * discounts[: len(ideal)]).sum())
    return float((got * discounts[: len(got)]).sum() / best) if best > 0 else 0.0


def average_precision(ranked: list[str], gains: dict[str, int], depth: int = DEPTH) -> float:
    relevant = {doc for doc, gain in gains.items() if gain > 0}
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for position, doc in enumerate(ranked[:depth], start=1):
        if doc in relevant:
            hits += 1
            total += hits / position
    return total / len(relevant)


def recall(ranked: list[str], gains: dict[str, int], depth: int = DEPTH) -> float:
    relevant = {doc for doc, gain in gains.items() if gain > 0}
    return len(relevant.intersection(ranked[:depth])) / len(relevant) if relevant else 0.0


def summarize(rankings: dict[str, list[str]], relevance: dict[str, dict[str, int]], prefix: str = "") -> dict:
    """Mean metrics over the queries that have at least one relevant document."""
    keys = [key for key in rankings if any(g > 0 for g in relevance[key].values())]
    if not keys:
        return {f"{prefix}ndcg@{K}": None, f"{prefix}map": None, f"{prefix}recall@{DEPTH}": None}
    return {
        f"{prefix}ndcg@{K}": round(float(np.mean([ndcg(rankings[q], relevance[q]) for q in keys])), 4),
        f"{prefix}map": round(float(np.mean([average_precision(rankings[q], relevance[q]) for q in keys])), 4),
        f"{prefix}recall@{DEPTH}": round(float(np.mean([recall(rankings[q], relevance[q]) for q in keys])), 4),
    }
