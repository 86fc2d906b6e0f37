"""The ``analyzer`` kind: text analytics served at first start; classifiers trained on labelled texts."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ValidationError
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.analyzer.classifier import Head
from aiflywheel.kinds.analyzer.example import make_example
from aiflywheel.kinds.analyzer.params import AnalyzerParams
from aiflywheel.kinds.analyzer.predictor import AnalyzerPredictor, save_model
from aiflywheel.kinds.analyzer.requests import INPUT_SCHEMA, OUTPUT_SCHEMA
from aiflywheel.kinds.analyzer.sentiment import LABELS
from aiflywheel.kinds.components.embeddings import text_embedder

PRIMARY = Metric("accuracy", True)
MIN_PER_LABEL = 2


class AnalyzerKind:
    """Language, sentiment, entities, key phrases and PII out of the box; a custom classifier from labelled texts.

    Examples
    --------
    >>> AnalyzerKind.services
    {'analyze': {}}
    """

    name: ClassVar[str] = "analyzer"
    description: ClassVar[str] = (
        "Text analytics: language, sentiment, entities, key phrases, PII detection and redaction; "
        "custom text classification trained on labelled texts."
    )
    pretrained: ClassVar[bool] = True
    services: ClassVar[dict[str, dict[str, Any]]] = {"analyze": {}}
    Params: ClassVar[type[BaseModel]] = AnalyzerParams
    input_schema: ClassVar[dict[str, Any]] = INPUT_SCHEMA
    output_schema: ClassVar[dict[str, Any]] = OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = PRIMARY

    def install(self, params: BaseModel, workdir: Path) -> TrainResult:
        """The built-in service: a manifest of the params (the models ship in wheels, nothing is copied)."""
        p = _params(params)
        save_model(Path(workdir), p, None)
        return TrainResult({}, PRIMARY, {"languages": p.languages, "pii_types": p.pii_types})

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        p = _params(params)
        names = {column.name: column for column in columns}
        for role, column in (("text_column", p.text_column), ("label_column", p.label_column)):
            if column not in names:
                raise InvalidInput(f"{role}: the dataset has no column {column!r}; its columns are {sorted(names)}")
        if names[p.text_column].logical not in ("text", "categorical"):
            raise InvalidInput(f"text_column: {p.text_column!r} holds {names[p.text_column].type}, not text")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Embed the labelled texts, fit a logistic-regression head, measure it on a held-out share, refit on all."""
        p = _params(params)
        began = time.perf_counter()
        texts, labels = _labelled(data, p)
        progress(0.05, f"embedding {len(texts)} labelled texts")
        vectors = text_embedder().embed(texts)
        progress(0.6, "training the classifier head")
        train_rows, held_rows = train_test_split(
            np.arange(len(texts)), test_size=p.holdout, random_state=p.seed, stratify=labels
        )
        trial = Head.fit(vectors[train_rows], [labels[i] for i in train_rows], p.regularization, p.seed)
        truth = [labels[i] for i in held_rows]
        guessed = [answer["label"] for answer in trial.predict(vectors[held_rows])]
        majority = max(set(labels), key=labels.count)
        metrics = {
            "accuracy": round(float(accuracy_score(truth, guessed)), 4),
            "macro_f1": round(float(f1_score(truth, guessed, average="macro")), 4),
            "baseline_accuracy": round(float(np.mean([t == majority for t in truth])), 4),
            "n_train": len(train_rows),
            "n_holdout": len(held_rows),
        }
        head = Head.fit(vectors, labels, p.regularization, p.seed)
        save_model(Path(workdir), p, head)
        metrics["train_seconds"] = round(time.perf_counter() - began, 3)
        progress(1.0, "done")
        return TrainResult(metrics, PRIMARY, {"target": p.target, "labels": head.classes})

    def load(self, workdir: Path) -> AnalyzerPredictor:
        return AnalyzerPredictor.load(Path(workdir))

    def evaluate(self, predictor: AnalyzerPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Accuracy and macro-F1 of the served labels (``category``, or ``sentiment``) on labelled texts."""
        p = _params(params)
        texts, labels = _labelled(data, p, training=False)
        field = "category" if predictor.head is not None and p.target == "category" else "sentiment"
        guessed: list[str] = []
        for start in range(0, len(texts), 64):
            answers = predictor.predict([{"text": text} for text in texts[start : start + 64]])
            guessed += [answer[field]["label"] for answer in answers]
        return {
            "accuracy": round(float(accuracy_score(labels, guessed)), 4),
            "macro_f1": round(float(f1_score(labels, guessed, average="macro")), 4),
            "n": len(texts),
        }

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """A corrected label (feedback ``label``, or ``outcome``) becomes a labelled text to train on."""
        p = _params(params)
        rows = []
        for record in records:
            text = record.input.get("text")
            label = record.feedback.get("label", record.feedback.get("outcome"))
            if isinstance(text, str) and text.strip() and isinstance(label, str) and label.strip():
                rows.append({p.text_column: text, p.label_column: label.strip()})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def _labelled(data: TrainingData, p: AnalyzerParams, training: bool = True) -> tuple[list[str], list[str]]:
    frame = data.to_pandas([p.text_column, p.label_column]).dropna()
    frame = frame[frame[p.text_column].astype(str).str.strip() != ""]
    texts = frame[p.text_column].astype(str).tolist()
    labels = frame[p.label_column].astype(str).str.strip().tolist()
    if not texts:
        raise InvalidInput(f"text_column: no row has both a text in {p.text_column!r} and a label")
    too_long = [i for i, text in enumerate(texts) if len(text) > p.max_chars]
    if too_long:
        raise InvalidInput(f"text_column: {len(too_long)} texts are longer than max_chars={p.max_chars}")
    if training:
        counts = {label: labels.count(label) for label in set(labels)}
        if len(counts) < 2:
            raise InvalidInput(f"label_column: a classifier needs at least two labels (found {sorted(counts)})")
        rare = sorted(label for label, n in counts.items() if n < MIN_PER_LABEL / p.holdout)
        if rare:
            raise InvalidInput(
                f"label_column: labels {rare} have fewer than {int(MIN_PER_LABEL / p.holdout)} texts "
                "(each needs some to train on and some held out)"
            )
        if p.target == "sentiment" and not set(counts) <= set(LABELS):
            raise InvalidInput(f"label_column: sentiment labels must be among {list(LABELS)} (found {sorted(counts)})")
    return texts, labels


def _params(params: BaseModel | Mapping[str, Any]) -> AnalyzerParams:
    if isinstance(params, AnalyzerParams):
        return params
    raw = params.model_dump(exclude_unset=True) if isinstance(params, BaseModel) else dict(params)
    try:
        return AnalyzerParams.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"invalid parameters for kind 'analyzer': {exc}") from exc
