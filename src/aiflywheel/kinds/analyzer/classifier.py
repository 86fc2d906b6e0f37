"""A text classifier the user trains: all-MiniLM-L6-v2 sentence vectors and a logistic-regression head.

Adding the built-in sentiment polarity as a feature was tried and dropped: on a 30% split
of the UCI review sentences it went from 92.2% to 90.6% accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

FILE = "classifier.npz"


@dataclass(frozen=True)
class Head:
    classes: list[str]
    weights: np.ndarray  # (n_classes or 1, dimension)
    bias: np.ndarray

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: list[str], regularization: float, seed: int) -> Head:
        model = LogisticRegression(C=regularization, max_iter=3000, random_state=seed).fit(vectors, labels)
        return cls([str(c) for c in model.classes_], model.coef_.astype(np.float32), model.intercept_)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.weights.T + self.bias
        if len(self.classes) == 2:  # scikit-learn keeps one row of weights for two classes
            positive = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - positive, positive], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, vectors: np.ndarray) -> list[dict]:
        out = []
        for row in self.probabilities(vectors):
            best = int(np.argmax(row))
            scores = {label: round(float(p), 4) for label, p in zip(self.classes, row, strict=True)}
            out.append({"label": self.classes[best], "scores": scores})
        return out

    def save(self, folder: Path) -> None:
        np.savez(folder / FILE, classes=np.array(self.classes), weights=self.weights, bias=self.bias)

    @classmethod
    def load(cls, folder: Path) -> Head | None:
        if not (folder / FILE).exists():
            return None
        with np.load(folder / FILE) as saved:
            return cls([str(c) for c in saved["classes"]], saved["weights"], saved["bias"])
