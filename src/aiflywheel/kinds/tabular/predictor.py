"""The trained model's files and the predictor that serves them.

A model directory holds ``model.txt`` (LightGBM's text format) and ``pipeline.json``
(target, task, classes, threshold and the feature pipeline). No pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.tabular.features import FeaturePipeline
from aiflywheel.kinds.tabular.target import Target

MODEL_FILE = "model.txt"
PIPELINE_FILE = "pipeline.json"
FORMAT = "aiflywheel.tabular/1"


class TabularPredictor:
    """Predicts a batch of feature dicts with a LightGBM booster and its feature pipeline.

    Classification rows get ``label`` (a class, in the target's own type) and
    ``probabilities`` (class → probability, keyed by the class as a string); binary
    rows also get ``score``, the positive class's probability, and ``label`` is the
    positive class when ``score >= threshold``. Regression rows get ``value``.
    """

    def __init__(self, booster: lgb.Booster, pipeline: FeaturePipeline, target: Target, threshold: float | None = None):
        self.booster = booster
        self.pipeline = pipeline
        self.target = target
        self.threshold = threshold

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Raises ``InvalidInput`` naming the row and field of a value that cannot be used."""
        features = self.pipeline.transform_rows(batch)
        if not batch:
            return []
        raw = self.raw(features)
        if not self.target.is_classification:
            return [{"value": float(value)} for value in raw]
        proba = self.probabilities(raw)
        labels = self.decide(proba)
        keys = self.target.keys
        rows = []
        for row, code in zip(proba, labels, strict=True):
            out: dict[str, Any] = {
                "label": self.target.classes[code],
                "probabilities": {key: float(p) for key, p in zip(keys, row, strict=True)},
            }
            if self.target.task == "binary":
                out["score"] = float(row[1])
            rows.append(out)
        return rows

    def raw(self, features: np.ndarray) -> np.ndarray:
        """The booster's output: P(positive), class probabilities, or values."""
        try:
            # One thread: for the small batches of serving, waking a thread pool costs far more than it saves.
            return np.asarray(self.booster.predict(features, num_threads=1))
        except lgb.basic.LightGBMError as exc:
            raise KindFailed(f"LightGBM failed to predict: {exc}") from exc

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Rows × classes, from ``raw`` of a classifier."""
        if self.target.task == "binary":
            return np.column_stack([1.0 - raw, raw])
        return raw.reshape(len(raw), -1)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Predicted class codes: the threshold for binary, the most probable class otherwise."""
        if self.target.task == "binary":
            threshold = 0.5 if self.threshold is None else self.threshold
            return (proba[:, 1] >= threshold).astype(int)
        return np.argmax(proba, axis=1)

    def save(self, workdir: Path, best_iteration: int) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(workdir / MODEL_FILE), num_iteration=best_iteration)
        document = {
            "format": FORMAT,
            "target": self.target.to_dict(),
            "threshold": self.threshold,
            "feature_names": self.pipeline.feature_names,
            "categorical_features": self.pipeline.categorical_indices,
            **self.pipeline.to_dict(),
        }
        (workdir / PIPELINE_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, workdir: Path) -> TabularPredictor:
        workdir = Path(workdir)
        try:
            document = json.loads((workdir / PIPELINE_FILE).read_text())
            booster = lgb.Booster(model_file=str(workdir / MODEL_FILE))
        except (OSError, ValueError, lgb.basic.LightGBMError) as exc:
            raise KindFailed(f"{workdir} does not hold a readable tabular model: {exc}") from exc
        if document.get("format") != FORMAT:
            raise KindFailed(f"{workdir / PIPELINE_FILE} has format {document.get('format')!r}, not {FORMAT!r}")
        return cls(
            booster,
            FeaturePipeline.from_dict(document),
            Target.from_dict(document["target"]),
            document.get("threshold"),
        )
