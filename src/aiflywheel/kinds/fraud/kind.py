"""The ``fraud`` kind: event scoring with entity behaviour, a calibrated LightGBM model, rules and outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.components.splits import Split, split_rows
from aiflywheel.kinds.components.tables import coerce_params, listing, read_frame
from aiflywheel.kinds.fraud.catboost_model import categories
from aiflywheel.kinds.fraud.events import EVENT_TYPE_KEY, EventSchema
from aiflywheel.kinds.fraud.example import make_example
from aiflywheel.kinds.fraud.features import EventEncoder
from aiflywheel.kinds.fraud.labels import to_label
from aiflywheel.kinds.fraud.model import Calibrator, fit, quality, rates_at, threshold_for_fpr, threshold_for_precision
from aiflywheel.kinds.fraud.params import FraudParams
from aiflywheel.kinds.fraud.predictor import Detector, FraudPredictor
from aiflywheel.kinds.fraud.rules import RuleSet, default_rules

MIN_EVENTS = 30
MIN_FRAUD = 6  # at least two for each of training, validation and test

_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1, "description": "Calibrated probability of fraud."},
        "outcome": {"type": "string", "description": "approve, review or block: the first matching rule's."},
        "rules": {"type": "array", "items": {"type": "string"}, "description": "Names of the rules that matched."},
        "explanations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"variable": {"type": "string"}, "contribution": {"type": "number"}},
            },
            "description": "Top variables by the model's own contribution (log-odds; positive = toward fraud).",
        },
    },
}


class FraudKind:
    """Fraud detection: events of a typed schema, entity behaviour features, a calibrated model, rules.

    Examples
    --------
    >>> FraudKind().Params(target="is_fraud").block_fpr
    0.01
    """

    name: ClassVar[str] = "fraud"
    description: ClassVar[str] = "Fraud detection: score events, apply rules, approve / review / block, explain."
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = FraudParams
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "description": "One event: variable name to value (and optionally 'event_type'). Required variables "
        "must be present; unknown keys are ignored.",
        "additionalProperties": True,
    }
    output_schema: ClassVar[dict[str, Any]] = _OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = Metric("pr_auc", True)

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        p = _params(params)
        names = [column.name for column in columns]
        for role, column in (
            ("target", p.target),
            ("entity", p.entity_column),
            ("time", p.time_column),
            ("amount", p.amount_column),
            *(("excluded", name) for name in p.exclude),
        ):
            if column is not None and column not in names:
                raise InvalidInput(f"{role} column {column!r} is not in the dataset; available: {listing(names)}")
        if p.entity_column is not None and p.time_column is None:
            raise InvalidInput("entity_column needs time_column: behaviour features count the entity's earlier events")
        for name in p.variables or {}:
            if name not in names:
                raise InvalidInput(f"variable {name!r} is not in the dataset; available: {listing(names)}")
        if not set(names) - {p.target, *p.exclude}:
            raise InvalidInput(f"every column but the target {p.target!r} is excluded; there are no variables")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        p = _params(params)
        self.validate(p, data.columns)
        progress(0.0, "reading the events")
        frame = read_frame(data)
        y = np.array([to_label(value, p.target, row) for row, value in enumerate(frame[p.target])], dtype=float)
        keep = ~np.isnan(y)
        if not keep.all():
            progress.log(f"dropped {int((~keep).sum())} events without a {p.target!r} label")
            frame, y = frame.loc[keep].reset_index(drop=True), y[keep]
        schema = EventSchema.infer(frame, p)
        if p.amount_column is not None and schema.variables.get(p.amount_column) != "numeric":
            raise InvalidInput(f"amount column {p.amount_column!r} must be a numeric variable")
        RuleSet(p.rules or default_rules(), schema.variables, p.default_outcome)  # refuse bad rules before training
        for name, reason in schema.dropped.items():
            if name != p.target:
                progress.log(f"column {name!r} is not a variable: {reason}")
        events = _check_rows(schema, frame)
        split = _split(events, y, schema, p, progress)
        progress(0.05, f"encoding {len(events)} events, {len(schema.variables)} variables")
        encoder = EventEncoder.fit([events[i] for i in split.fit], schema.variables, schema.entity, schema.time)
        detector = Detector(
            schema,
            encoder,
            Calibrator(1.0, 0.0),
            {},
            p.rules or default_rules(),
            p.default_outcome,
            p.amount_column,
            p.explanations,
        )
        history = detector.new_history(p.windows) if schema.entity is not None else None
        features = detector.features(events, history)  # every event, in time order: training state ends current
        names = encoder.feature_names + ([] if history is None else history.feature_names)
        categorical = encoder.categorical_indices
        detector.catboost_categories = categories(features[split.train], categorical, encoder.numeric_indices)
        progress(0.1, f"boosting on {len(split.train)} events, {len(names)} features")
        booster, second, calibrator, valid_scores, rounds = fit(
            features, y, split.train, split.valid, names, categorical, p, detector.catboost_categories
        )
        y_valid = y[split.valid]
        thresholds = {
            "block_threshold": threshold_for_fpr(y_valid, valid_scores, p.block_fpr),
            "review_threshold": threshold_for_fpr(y_valid, valid_scores, p.review_fpr),
        }
        detector.calibrator, detector.thresholds = calibrator, thresholds
        predictor = FraudPredictor(booster, detector, history, catboost=second)
        progress(0.9, f"evaluating on {len(split.test)} held-out events")
        test_scores = calibrator(predictor.raw_contributions(features[split.test])[0])
        y_test = y[split.test]
        metrics: dict[str, Any] = quality(y_test, test_scores)
        metrics.update(
            baseline_pr_auc=float(np.mean(y[split.fit])),
            n_train=len(split.train),
            n_valid=len(split.valid),
            n_test=len(split.test),
            rounds=rounds["lightgbm"],
            **({"catboost_rounds": rounds["catboost"]} if "catboost" in rounds else {}),
        )
        operating = {
            "block": {
                "target_fpr": p.block_fpr,
                **_expected(y_valid, valid_scores, y_test, test_scores, thresholds["block_threshold"]),
            },
            "review": {
                "target_fpr": p.review_fpr,
                **_expected(y_valid, valid_scores, y_test, test_scores, thresholds["review_threshold"]),
            },
        }
        if p.target_precision is not None:
            at_precision = threshold_for_precision(y_valid, valid_scores, p.target_precision)
            operating["precision"] = {"target_precision": p.target_precision, "threshold": at_precision}
            if at_precision is not None:
                operating["precision"].update(_expected(y_valid, valid_scores, y_test, test_scores, at_precision))
        predictor.save(Path(workdir))
        progress(1.0, "done")
        summary = {
            "event_type": schema.to_dict(),
            "features": names,
            "thresholds": operating,
            "rules": detector.rules.to_list(),
            "entities_in_history": 0 if history is None else len(history),
        }
        return TrainResult(metrics, self.primary_metric, summary)

    def load(self, workdir: Path) -> FraudPredictor:
        return FraudPredictor.load(Path(workdir))

    def evaluate(self, predictor: FraudPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Quality on every labelled event of ``data``, replayed in time order on a copy of the shipped history."""
        p = _params(params)
        frame = read_frame(data)
        if p.target not in frame.columns:
            raise InvalidInput(
                f"target column {p.target!r} is not in the dataset; available: {listing(list(frame.columns))}"
            )
        y = np.array([to_label(value, p.target, row) for row, value in enumerate(frame[p.target])], dtype=float)
        known = ~np.isnan(y)
        if not known.any():
            raise InvalidInput(f"no event of the dataset has a usable {p.target!r} label")
        frame, y = frame.loc[known].reset_index(drop=True), y[known]
        events = _check_rows(predictor.detector.schema, frame)
        answers = predictor.score(events, predictor.fresh_history(), explain=False)
        metrics = quality(y, np.array([answer["score"] for answer in answers]))
        metrics["n_rows"] = len(events)
        return metrics

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """Each scored event with its confirmed label (feedback ``label``, else ``outcome``) as the target."""
        p = _params(params)
        rows = []
        for record in records:
            label = None
            for key in ("label", "outcome"):
                try:
                    label = to_label(record.feedback.get(key), key, 0)
                except InvalidInput:
                    label = float("nan")
                if not np.isnan(label):
                    break
            if label is None or np.isnan(label):
                continue
            event = {k: v for k, v in record.input.items() if k not in (p.target, EVENT_TYPE_KEY)}
            rows.append({**event, p.target: int(label)})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def _params(params: BaseModel | Mapping[str, Any]) -> FraudParams:
    return coerce_params(params, FraudParams, "fraud")


def _check_rows(schema: EventSchema, frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [name for name in schema.variables if name in frame.columns]
    records = frame[columns].to_dict("records")
    return [schema.check(record, row) for row, record in enumerate(records)]


def _split(
    events: list[dict[str, Any]], y: np.ndarray, schema: EventSchema, p: FraudParams, progress: Progress
) -> Split:
    """Time-aware when the events have a time (the latest are held out), else stratified by label."""
    if len(y) < MIN_EVENTS:
        raise InvalidInput(f"{len(y)} labelled events; training needs at least {MIN_EVENTS}")
    if int(y.sum()) < MIN_FRAUD or int((1 - y).sum()) < MIN_FRAUD:
        raise InvalidInput(
            f"{int(y.sum())} fraud and {int((1 - y).sum())} legitimate events of {p.target!r}; "
            f"training needs at least {MIN_FRAUD} of each"
        )
    order = None
    if schema.time is not None:
        times = np.array([np.nan if e[schema.time] is None else e[schema.time] for e in events])
        order = np.argsort(np.nan_to_num(times, nan=-np.inf), kind="stable")
    split = split_rows(len(y), p.test_size, p.seed, strata=y.astype(int), order=order)
    single = [part for part, rows in (("test", split.test), ("validation", split.valid)) if np.unique(y[rows]).size < 2]
    if order is not None and single:
        # Too few frauds to have some in every time slice: a stratified split beats refusing to train.
        progress.log(f"the latest events ({' and '.join(single)} part) hold no fraud; splitting at random by label")
        split = split_rows(len(y), p.test_size, p.seed, strata=y.astype(int))
    return split


def _expected(y_valid, valid_scores, y_test, test_scores, threshold: float) -> dict[str, Any]:
    return {"validation": rates_at(y_valid, valid_scores, threshold), "test": rates_at(y_test, test_scores, threshold)}
