"""The ``tabular`` kind: AutoML for tables with LightGBM, no tuning needed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import (
    Column,
    FeedbackRecord,
    KindExample,
    Metric,
    Progress,
    TrainingData,
    TrainResult,
)
from aiflywheel.kinds.components.splits import Split, split_rows
from aiflywheel.kinds.components.tables import coerce_params, listing, read_frame
from aiflywheel.kinds.components.values import is_missing, to_timestamp
from aiflywheel.kinds.tabular.boosting import fit_booster, importance
from aiflywheel.kinds.tabular.example import make_example
from aiflywheel.kinds.tabular.features import FeaturePipeline
from aiflywheel.kinds.tabular.metrics import (
    baseline_metrics,
    best_f1_threshold,
    classification_metrics,
    regression_metrics,
)
from aiflywheel.kinds.tabular.params import TabularParams
from aiflywheel.kinds.tabular.predictor import TabularPredictor
from aiflywheel.kinds.tabular.target import Target, fit_target

MIN_ROWS = 20
MIN_ROWS_PER_CLASS = 3  # binary: one each for training, validation and test
PRIMARY_METRICS = {
    "binary": Metric("roc_auc", True),
    "multiclass": Metric("log_loss", False),
    "regression": Metric("rmse", False),
}

_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "label": {"description": "Classification: the predicted class, in the target's own type."},
        "probabilities": {
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
            "description": "Classification: probability per class (keys: classes as strings).",
        },
        "score": {"type": "number", "description": "Binary: probability of the positive class."},
        "value": {"type": "number", "description": "Regression: the predicted value."},
    },
}


class TabularKind:
    """Classification and regression on a table: automatic features, LightGBM, early stopping.

    Examples
    --------
    >>> kind = TabularKind()
    >>> kind.Params(target="y").test_size
    0.2
    """

    name: ClassVar[str] = "tabular"
    description: ClassVar[str] = "AutoML for tables: classify or regress any column from the others."
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = TabularParams
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "description": "One row: feature name to value. Missing keys are missing values; "
        "unknown keys (and the target) are ignored.",
        "additionalProperties": True,
    }
    output_schema: ClassVar[dict[str, Any]] = _OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = Metric("roc_auc", True)

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        """Raise ``InvalidInput`` if the params name columns the dataset lacks or leave no features."""
        p = _params(params)
        names = [column.name for column in columns]
        available = listing(names)

        def require(column: str, role: str) -> None:
            if column not in names:
                raise InvalidInput(f"{role} column {column!r} is not in the dataset; available: {available}")

        require(p.target, "target")
        for column in p.exclude:
            require(column, "excluded")
        if p.time_column is not None:
            require(p.time_column, "time")
        if p.target in p.exclude:
            raise InvalidInput(f"target column {p.target!r} cannot also be excluded")
        if p.time_column == p.target:
            raise InvalidInput(f"time column {p.target!r} cannot be the target")
        if len(names) == 1:
            raise InvalidInput(f"the target {p.target!r} is the only column; there are no features")
        if not set(names) - {p.target, *p.exclude}:
            raise InvalidInput(f"every column but the target {p.target!r} is excluded; there are no features")
        logical = {column.name: column.logical for column in columns}
        if p.task == "regression" and logical[p.target] not in ("numeric", "other"):
            raise InvalidInput(f"task 'regression' needs a numeric target; column {p.target!r} is {logical[p.target]}")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Fit on the dataset, report held-out metrics, write ``model.txt`` and ``pipeline.json``."""
        p = _params(params)
        self.validate(p, data.columns)
        progress(0.0, "reading the dataset")
        frame = read_frame(data)
        target = fit_target(frame[p.target], p.task, p.positive_class)
        y = target.encode(frame[p.target])
        keep = ~np.isnan(y)
        if not keep.all():
            progress.log(f"dropped {int((~keep).sum())} rows with a missing target {p.target!r}")
            frame, y = frame.loc[keep].reset_index(drop=True), y[keep]
        split = _split(frame, y, target, p)
        progress(0.03, f"typing {frame.shape[1] - 1} columns")
        skip = {p.target: "target", **{name: "excluded by params" for name in p.exclude}}
        logical = {column.name: column.logical for column in data.columns}
        pipeline = FeaturePipeline.fit(frame.iloc[split.fit], logical, skip, p.time_column)
        dropped = {name: reason for name, reason in pipeline.dropped.items() if name != p.target}
        for name, reason in dropped.items():
            progress.log(f"dropped column {name!r}: {reason}")
        if not pipeline.columns:
            raise InvalidInput(f"no usable feature columns: {_reasons(dropped)}")
        features = pipeline.transform(frame)
        n_classes = len(target.classes)
        progress(0.05, f"training on {len(split.train)} rows, {len(pipeline.feature_names)} features")
        booster, best = fit_booster(
            features[split.train],
            y[split.train],
            features[split.valid],
            y[split.valid],
            task=target.task,
            n_classes=n_classes,
            categorical=pipeline.categorical_indices,
            params=p,
            progress=progress,
            span=(0.05, 0.9),
        )
        progress(0.92, f"evaluating on {len(split.test)} held-out rows")
        predictor = TabularPredictor(booster, pipeline, target)

        def raw(rows: np.ndarray) -> np.ndarray:
            return np.asarray(booster.predict(features[rows], num_iteration=best))

        if target.task == "binary":
            predictor.threshold = best_f1_threshold(y[split.valid], raw(split.valid))
        metrics = _metrics(predictor, raw(split.test), y[split.test])
        metrics.update(baseline_metrics(target.task, y[split.fit], y[split.test], n_classes))
        metrics.update(n_train=len(split.train), n_valid=len(split.valid), n_test=len(split.test))
        metrics["best_iteration"] = best
        predictor.save(Path(workdir), best)
        progress(1.0, "done")
        summary = {
            "task": target.task,
            "target": p.target,
            "features": {spec.name: spec.type for spec in pipeline.columns},
            "dropped_columns": dropped,
            "classes": list(target.classes),
            "threshold": predictor.threshold,
            "feature_importance": importance(booster, pipeline.feature_names),
        }
        if target.task == "binary":
            summary["positive_class"] = target.classes[1]
        return TrainResult(metrics, PRIMARY_METRICS[target.task], summary)

    def load(self, workdir: Path) -> TabularPredictor:
        return TabularPredictor.load(Path(workdir))

    def evaluate(self, predictor: TabularPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Metrics of ``predictor`` on every labelled row of ``data`` (no baselines).

        Rows whose label is missing are skipped; so are rows with a class the model never
        saw, counted in ``n_unknown_label``.
        """
        p = _params(params)
        frame = read_frame(data)
        if p.target not in frame.columns:
            raise InvalidInput(
                f"target column {p.target!r} is not in the dataset; available: {listing(list(frame.columns))}"
            )
        target = predictor.target
        y = target.encode(frame[p.target])
        present = ~frame[p.target].map(is_missing).to_numpy(dtype=bool)
        known = ~np.isnan(y)
        if not known.any():
            raise InvalidInput(f"no row of the dataset has a usable {p.target!r} label")
        rows = frame.loc[known].drop(columns=[p.target]).to_dict("records")
        outputs = predictor.predict(rows)
        y = y[known]
        if target.is_classification:
            proba = np.array([[out["probabilities"][key] for key in target.keys] for out in outputs])
            labels = np.array([target.code_of(out["label"]) for out in outputs])
            metrics = classification_metrics(y, proba, labels)
        else:
            metrics = regression_metrics(y, np.array([out["value"] for out in outputs]))
        metrics["n_rows"] = int(known.sum())
        metrics["n_unknown_label"] = int((present & ~known).sum())
        return metrics

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """Each record's input with its feedback label (regression: outcome, else label) as the target."""
        p = _params(params)
        order = ("outcome", "label") if p.task == "regression" else ("label", "outcome")
        rows = []
        for record in records:
            label = next(
                (record.feedback[key] for key in order if _usable(record.feedback.get(key))),
                None,
            )
            if label is None:
                continue
            rows.append({**{k: v for k, v in record.input.items() if k != p.target}, p.target: label})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def _params(params: BaseModel | Mapping[str, Any]) -> TabularParams:
    return coerce_params(params, TabularParams, "tabular")


def _split(frame: pd.DataFrame, y: np.ndarray, target: Target, p: TabularParams) -> Split:
    if len(y) < MIN_ROWS:
        raise InvalidInput(f"{len(y)} rows with a target; training needs at least {MIN_ROWS}")
    if target.task == "binary":
        counts = np.bincount(y.astype(int), minlength=2)
        if counts.min() < MIN_ROWS_PER_CLASS:
            rare = target.classes[int(np.argmin(counts))]
            raise InvalidInput(
                f"class {rare!r} of {p.target!r} has {counts.min()} rows; "
                f"at least {MIN_ROWS_PER_CLASS} are needed to train, validate and test"
            )
    order = None
    if p.time_column is not None:
        order = _time_order(frame[p.time_column], p.time_column)
    strata = y.astype(int) if target.is_classification else None
    split = split_rows(len(y), p.test_size, p.seed, strata=strata, order=order)
    if target.task == "binary" and np.unique(y[split.test]).size < 2:
        raise InvalidInput(f"the latest {len(split.test)} rows (the test set) hold a single class of {p.target!r}")
    return split


def _time_order(series: pd.Series, name: str) -> np.ndarray:
    """Row positions from earliest to latest; rows without a time come first (always trained on)."""
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        key = series
    else:
        try:
            key = pd.Series([to_timestamp(value) for value in series], dtype="datetime64[ns]")
        except (ValueError, OverflowError) as exc:
            raise InvalidInput(f"time column {name!r} holds values that are not dates or times: {exc}") from exc
    return key.reset_index(drop=True).sort_values(kind="stable", na_position="first").index.to_numpy()


def _metrics(predictor: TabularPredictor, raw: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    if not predictor.target.is_classification:
        return regression_metrics(y, raw)
    proba = predictor.probabilities(raw)
    return classification_metrics(y, proba, predictor.decide(proba))


def _usable(value: Any) -> bool:
    return not is_missing(value) and not (isinstance(value, str) and not value.strip())


def _reasons(dropped: Mapping[str, str]) -> str:
    return "; ".join(f"{name!r}: {reason}" for name, reason in dropped.items()) or "the dataset has none"
