"""Row splits: held-out test rows for the metrics, validation rows for early stopping (tabular, fraud)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VALID_FRACTION = 0.15  # of the non-test rows, for early stopping and the decision threshold


@dataclass(frozen=True)
class Split:
    """Row positions of each part, each sorted."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    @property
    def fit(self) -> np.ndarray:
        """Rows the model learns from (train and validation), the test rows never."""
        return np.sort(np.concatenate([self.train, self.valid]))


def split_rows(
    n: int,
    test_size: float,
    seed: int,
    strata: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> Split:
    """Split ``n`` rows into train, validation and test.

    With ``order`` (row positions sorted by time) the latest rows are the test set and
    the latest of the rest the validation set. Otherwise the split is random and, with
    ``strata`` (class codes), stratified: every class with at least two rows has one in
    the held-out part and one left behind.

    Examples
    --------
    >>> split = split_rows(100, 0.2, seed=0)
    >>> len(split.train), len(split.valid), len(split.test)
    (68, 12, 20)
    """
    if order is not None:
        rest, test = _tail(np.asarray(order), test_size)
        train, valid = _tail(rest, VALID_FRACTION)
        return Split(np.sort(train), np.sort(valid), np.sort(test))
    rng = np.random.RandomState(seed)
    rows = np.arange(n)
    rest, test = _holdout(rows, None if strata is None else strata, test_size, rng)
    train, valid = _holdout(rest, None if strata is None else strata[rest], VALID_FRACTION, rng)
    return Split(train, valid, test)


def _tail(rows: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    k = min(max(1, round(len(rows) * fraction)), len(rows) - 1)
    return rows[: len(rows) - k], rows[len(rows) - k :]


def _holdout(
    rows: np.ndarray, strata: np.ndarray | None, fraction: float, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out) positions; per stratum, held-out share ``fraction``, at least one each side."""
    groups = [rows] if strata is None else [rows[strata == value] for value in np.unique(strata)]
    kept, held = [], []
    for group in groups:
        shuffled = group[rng.permutation(len(group))]
        k = 0 if len(group) < 2 else min(max(1, round(len(group) * fraction)), len(group) - 1)
        held.append(shuffled[:k])
        kept.append(shuffled[k:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))
