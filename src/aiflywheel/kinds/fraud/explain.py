"""Per-variable contributions by decision path, read from the booster's own trees, precomputed per leaf.

Every split an event passes moves the tree's expected output from the node's (the
training-count-weighted mean of the leaves below it) to the child's; that move is
credited to the split's variable. Summed over the path it telescopes to the leaf's
value minus the tree's expected output, so over all trees the contributions plus the
model's expected value are exactly the event's log-odds. They depend only on the leaf
an event reaches, so each leaf's contributions are computed once, at load: scoring
asks LightGBM for the leaf of every tree (as cheap as a prediction) and sums a row per
tree. LightGBM's own TreeSHAP (``pred_contrib``) gives Shapley values instead, at
about 2 µs per tree per event, more than everything else the detector does for an
event; on a detector of ~850 trees that was 85% of its time.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
from scipy import sparse

DENSE_CELLS = 4_000_000  # leaves x variables of a table kept dense: 32 MB at most
GATHER_EVENTS = 64


class PathContributions:
    """``(log-odds, contributions per group)`` of a feature matrix, groups given per feature."""

    def __init__(self, booster: lgb.Booster, group_of: np.ndarray, groups: int):
        rows: list[int] = []
        columns: list[int] = []
        values: list[float] = []
        offsets = []
        self.expected = 0.0
        total = 0
        for tree in booster.dump_model()["tree_info"]:
            offsets.append(total)
            root = tree["tree_structure"]
            means = _node_means(root)
            self.expected += means[id(root)]
            for leaf, path in _leaf_paths(root, means):
                for feature, move in path.items():
                    rows.append(total + leaf)
                    columns.append(int(group_of[feature]))
                    values.append(move)
            total += int(tree["num_leaves"])
        self._offsets = np.array(offsets, dtype=np.int64)
        table = sparse.csr_matrix((values, (rows, columns)), shape=(max(total, 1), groups))
        # Dense, a row per leaf is a plain gather; a model too large for that stays sparse (bounded memory).
        self._table = table.toarray() if total * groups <= DENSE_CELLS else table

    def __call__(self, booster: lgb.Booster, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        leaves = np.asarray(booster.predict(features, pred_leaf=True, num_threads=1), dtype=np.int64)
        leaves = leaves.reshape(len(features), -1) + self._offsets
        events, trees = leaves.shape
        if isinstance(self._table, np.ndarray):
            contributions = np.empty((events, self._table.shape[1]))
            for start in range(0, events, GATHER_EVENTS):  # bounds the (events, trees, groups) gather
                contributions[start : start + GATHER_EVENTS] = self._table[leaves[start : start + GATHER_EVENTS]].sum(1)
        else:
            reached = sparse.csr_matrix(
                (np.ones(events * trees), leaves.ravel(), np.arange(0, events * trees + 1, trees)),
                shape=(events, self._table.shape[0]),
            )
            contributions = (reached @ self._table).toarray()
        return self.expected + contributions.sum(axis=1), contributions


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node["left_child"], node["right_child"]] if "split_feature" in node else []


def _node_means(root: dict[str, Any]) -> dict[int, float]:
    """Each node's expected output: its leaves' values weighted by their training counts."""
    order, stack = [], [root]
    while stack:  # iterative: a tree of many leaves can be deeper than Python's recursion limit
        node = stack.pop()
        order.append(node)
        stack.extend(_children(node))
    means: dict[int, float] = {}
    counts: dict[int, float] = {}
    for node in reversed(order):  # children before their parent
        children = _children(node)
        if not children:
            means[id(node)], counts[id(node)] = float(node["leaf_value"]), float(node.get("leaf_count", 0))
            continue
        weights = [counts[id(child)] for child in children]
        total = sum(weights)
        if total == 0:
            weights, total = [1.0, 1.0], 2.0
        means[id(node)] = sum(w * means[id(c)] for w, c in zip(weights, children, strict=True)) / total
        counts[id(node)] = sum(counts[id(child)] for child in children)
    return means


def _leaf_paths(root: dict[str, Any], means: dict[int, float]):
    """(leaf index, feature → summed move of the expected output along the path) per leaf."""
    stack: list[tuple[dict[str, Any], dict[int, float]]] = [(root, {})]
    while stack:
        node, path = stack.pop()
        children = _children(node)
        if not children:
            yield int(node.get("leaf_index", 0)), path
            continue
        feature = int(node["split_feature"])
        for child in children:
            moved = dict(path)
            moved[feature] = moved.get(feature, 0.0) + means[id(child)] - means[id(node)]
            stack.append((child, moved))


class ObliviousPathContributions:
    """The same decision-path contributions for CatBoost's oblivious trees, from its JSON model.

    An oblivious tree applies one split per level to every node; bit ``k`` of a leaf's
    index is the outcome of the tree's ``k``-th split. Walking the levels in order, the
    move of the expected output at each level is credited to the split's features (a
    target statistic over a combination of categories shares it equally among them).
    ``group_of_flat`` maps CatBoost's flat feature index to the explanation group.
    """

    def __init__(self, document: dict[str, Any], split_features: dict[int, list[int]], group_of_flat, groups: int):
        scale, biases = document.get("scale_and_bias", [1.0, [0.0]])
        self.expected = float(sum(biases))
        tables, offsets, total = [], [], 0
        for tree in document["oblivious_trees"]:
            values = scale * np.asarray(tree["leaf_values"], dtype=float)
            weights = np.asarray(tree.get("leaf_weights") or np.ones_like(values), dtype=float)
            table = np.zeros((values.size, groups))
            means = _prefix_means(values, weights, 0)
            self.expected += float(means[0])
            for level, split in enumerate(tree["splits"] or []):
                below = _prefix_means(values, weights, level + 1)
                move = below - means  # per leaf: the expected output after this level minus before it
                readers = [int(group_of_flat[flat]) for flat in split_features[int(split["split_index"])]]
                for group in readers:
                    table[:, group] += move / len(readers)
                means = below
            offsets.append(total)
            tables.append(table)
            total += values.size
        self._offsets = np.array(offsets, dtype=np.int64)
        self._table = np.vstack(tables) if tables else np.zeros((1, groups))

    def __call__(self, leaves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log-odds, contributions per group) from the leaf index of every tree, an event a row."""
        leaves = np.asarray(leaves, dtype=np.int64).reshape(len(leaves), -1) + self._offsets
        contributions = np.empty((len(leaves), self._table.shape[1]))
        for start in range(0, len(leaves), GATHER_EVENTS):
            contributions[start : start + GATHER_EVENTS] = self._table[leaves[start : start + GATHER_EVENTS]].sum(1)
        return self.expected + contributions.sum(axis=1), contributions


def _prefix_means(values: np.ndarray, weights: np.ndarray, bits: int) -> np.ndarray:
    """Per leaf, the weighted mean of the leaves sharing its lowest ``bits`` bits (its node at that depth)."""
    node = np.arange(values.size) & ((1 << bits) - 1)
    totals = np.bincount(node, weights=weights, minlength=1 << bits)
    sums = np.bincount(node, weights=weights * values, minlength=1 << bits)
    plain = np.bincount(node, weights=values, minlength=1 << bits) / np.bincount(node, minlength=1 << bits).clip(1)
    means = np.where(totals > 0, sums / np.where(totals > 0, totals, 1), plain)
    return means[node]
