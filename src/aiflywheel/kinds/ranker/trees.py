"""LightGBM's trees walked with NumPy: a served ranker scores without importing LightGBM.

A served query scores ~150 candidates with every tree of the re-ranker; LightGBM's
``predict`` has a fixed cost per call and importing lightgbm loads its native library.
Here the model's own dumped trees (``Booster.dump_model``) are pooled into flat arrays
and walked all at once, one level per step, so a query costs a handful of NumPy calls
per level. Several boosters (trained with different seeds) are averaged: their trees are
pooled and each one's leaves divided by their number.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at most this is zero for "zero as missing"
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_SPLIT_COLUMNS = {
    "feature": np.int64,
    "threshold": np.float64,
    "missing": np.int8,
    "default_left": bool,
    "left": np.int64,
    "right": np.int64,
}


class TreeEnsemble:
    """The summed output of binary trees over numeric features, as LightGBM computes it.

    Splits of every tree share numbered arrays (``feature``, ``threshold``... a child
    >= 0 is a split, < 0 the leaf ``~child``); ``roots`` is where each tree starts.
    """

    def __init__(self, arrays: dict[str, np.ndarray], feature_names: list[str]):
        self.arrays = arrays
        self.feature_names = list(feature_names)

    @classmethod
    def from_boosters(cls, boosters: list) -> TreeEnsemble:
        """The average of LightGBM boosters: every tree of each, its leaves scaled by 1 / len(boosters)."""
        splits: list[dict] = []
        leaves: list[float] = []
        roots: list[int] = []
        depth = 0
        names: list[str] = []
        for booster in boosters:
            dump = booster.dump_model()
            names = dump["feature_names"]
            for tree in dump["tree_info"]:
                root, levels = _flatten(tree["tree_structure"], 1.0 / len(boosters), splits, leaves)
                roots.append(root)
                depth = max(depth, levels)
        arrays = {name: np.array([s[name] for s in splits], dtype=kind) for name, kind in _SPLIT_COLUMNS.items()}
        arrays.update(leaf=np.array(leaves, dtype=np.float64), roots=np.array(roots, dtype=np.int64))
        arrays["depth"] = np.array(depth)  # splits on the longest path from a root to a leaf
        return cls(arrays, names)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """One score per row: every split decided at once, then all trees walked together a level at a time.

        Nodes are numbered splits first, then leaves (``~leaf`` becomes ``splits + leaf``); a
        leaf's both children are itself, so walking the deepest tree's depth in steps ends every
        tree on its leaf without masking the finished ones.
        """
        values = np.asarray(features, dtype=np.float64)
        a = self.arrays
        splits, n = len(a["feature"]), len(values)
        x = values[:, a["feature"]]  # rows x splits
        nan = np.isnan(x)
        has_nan = bool(nan.any())
        goes_left = (np.where(nan, 0.0, x) if has_nan else x) <= a["threshold"]  # "None": missing reads as zero
        if has_nan or (a["missing"] == 1).any():
            absent = np.where(a["missing"] == 2, nan, (a["missing"] == 1) & (nan | (np.abs(x) <= _ZERO)))
            goes_left = np.where(absent, a["default_left"], goes_left)
        # one column more: every leaf reads it (its children are itself either way)
        decided = np.hstack([goes_left, np.zeros((n, 1), dtype=bool)]).ravel()
        node_of = lambda child: np.where(child >= 0, child, splits + ~child)  # noqa: E731
        leaves = np.arange(splits, splits + len(a["leaf"]))
        # children[2 * node] when the split goes left, children[2 * node + 1] when right
        children = np.column_stack(
            [np.concatenate([node_of(a["left"]), leaves]), np.concatenate([node_of(a["right"]), leaves])]
        ).ravel()
        row_start = (np.arange(n) * (splits + 1))[:, None]
        node = np.broadcast_to(node_of(a["roots"]), (n, len(a["roots"])))
        for _ in range(int(a["depth"])):
            right = ~decided.take(row_start + np.minimum(node, splits))
            node = children.take(2 * node + right)
        return a["leaf"][node - splits].sum(axis=1)

    def save(self, path: Path) -> None:
        plain = {name: values.tolist() for name, values in self.arrays.items()}
        path.write_text(json.dumps({"feature_names": self.feature_names, "arrays": plain}))

    @classmethod
    def load(cls, path: Path) -> TreeEnsemble:
        stored = json.loads(path.read_text())
        kinds = {**_SPLIT_COLUMNS, "leaf": np.float64, "roots": np.int64, "depth": np.int64}
        return cls(
            {name: np.asarray(stored["arrays"][name], dtype=kind) for name, kind in kinds.items()},
            stored["feature_names"],
        )


def _flatten(node: dict, scale: float, splits: list[dict], leaves: list[float]) -> tuple[int, int]:
    """Append one dumped (sub)tree to ``splits`` and ``leaves``: its number (a leaf's is ``~leaf``), its depth."""
    if "leaf_value" in node:
        leaves.append(float(node["leaf_value"]) * scale)
        return ~(len(leaves) - 1), 0
    if node["decision_type"] != "<=":
        raise ValueError(f"only numeric splits are walked (got {node['decision_type']!r})")
    number = len(splits)
    entry = {
        "feature": node["split_feature"],
        "threshold": float(node["threshold"]),
        "missing": _MISSING[node["missing_type"]],
        "default_left": bool(node["default_left"]),
    }
    splits.append(entry)
    entry["left"], left_depth = _flatten(node["left_child"], scale, splits, leaves)
    entry["right"], right_depth = _flatten(node["right_child"], scale, splits, leaves)
    return number, 1 + max(left_depth, right_depth)
