"""``BaselineKind``: a real but trivial kind (majority class or mean), for kernel tests and as a template.

It exercises every part of the protocol in milliseconds; ``sleep_seconds`` makes
training slow on purpose, for tests of progress, cancellation and crash recovery.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, TrainingData, TrainResult


class BaselineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str
    sleep_seconds: float = Field(default=0.0, ge=0, le=3600)


class _Predictor:
    def __init__(self, answer: Any):
        self.answer = answer

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not isinstance(batch, list) or not all(isinstance(row, dict) for row in batch):
            raise InvalidInput("batch must be a list of objects")
        return [{"value": self.answer} for _ in batch]


class BaselineKind:
    name: ClassVar[str] = "baseline"
    description: ClassVar[str] = "Predicts the training target's majority class or mean."
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = BaselineParams
    input_schema: ClassVar[dict] = {"type": "object"}
    output_schema: ClassVar[dict] = {"type": "object", "properties": {"value": {}}}
    primary_metric: ClassVar[Metric] = Metric("accuracy", True)

    def validate(self, params: BaselineParams, columns: tuple[Column, ...]) -> None:
        names = [c.name for c in columns]
        if params.target not in names:
            raise InvalidInput(f"target column {params.target!r} is not in the dataset (columns: {', '.join(names)})")

    def train(self, data: TrainingData, params: BaselineParams, progress, workdir: Path) -> TrainResult:
        steps = max(1, int(params.sleep_seconds / 0.1))
        for step in range(steps):
            progress(step / steps, f"step {step + 1} of {steps}")
            if params.sleep_seconds:
                time.sleep(params.sleep_seconds / steps)
        values = data.read([params.target]).column(0).drop_null().to_pylist()
        if not values:
            raise InvalidInput(f"target column {params.target!r} has no values")
        answer = self._answer(values)
        (workdir / "answer.json").write_text(json.dumps({"answer": answer}))
        progress(1.0, "done")
        return TrainResult(metrics=self._metrics(answer, values), primary_metric=self.primary_metric)

    @staticmethod
    def _answer(values: list) -> Any:
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values) and len(set(values)) > 20:
            return float(np.mean(values))
        return Counter(values).most_common(1)[0][0]

    @staticmethod
    def _metrics(answer: Any, values: list) -> dict[str, float]:
        return {"accuracy": float(np.mean([v == answer for v in values])), "rows": float(len(values))}

    def load(self, workdir: Path) -> _Predictor:
        return _Predictor(json.loads((workdir / "answer.json").read_text())["answer"])

    def evaluate(self, predictor: _Predictor, data: TrainingData, params: BaselineParams) -> dict[str, float]:
        return self._metrics(predictor.answer, data.read([params.target]).column(0).drop_null().to_pylist())

    def feedback_rows(self, params: BaselineParams, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        return [{params.target: r.feedback["label"]} for r in records if r.feedback.get("label") is not None]

    @classmethod
    def example(cls) -> KindExample:
        table = pa.table({"x": list(range(30)), "y": ["a"] * 20 + ["b"] * 10})
        return KindExample(
            train=table,
            params={"target": "y"},
            batch=[{"x": 1}, {"x": 2}],
            bad_batch=[1, 2],
            bad_params={"target": "y", "sleep_seconds": -1},
            feedback=[FeedbackRecord(input={"x": 3}, output={"value": "a"}, feedback={"label": "b"})],
        )


class LexiconParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lexicon: dict[str, str] = Field(default_factory=dict, description="word → replacement")


class _LexiconPredictor:
    def __init__(self, lexicon: dict[str, str]):
        self.lexicon = lexicon

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        outputs = []
        for index, row in enumerate(batch):
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise InvalidInput(f"instance {index}: 'text' must be a string")
            outputs.append({"text": " ".join(self.lexicon.get(word, word) for word in row["text"].split())})
        return outputs


class LexiconKind:
    """A real but trivial pretrained kind: rewrites words through a lexicon, for tests of built-in services.

    Its lexicon is a parameter, as a voice's lexicon or a translator's terminology would be:
    changing it installs a new version.
    """

    name: ClassVar[str] = "lexicon"
    description: ClassVar[str] = "Rewrites words through a lexicon (a pretrained kind for tests)."
    pretrained: ClassVar[bool] = True
    services: ClassVar[dict[str, dict[str, Any]]] = {"spelling": {"lexicon": {"colour": "color"}}}
    Params: ClassVar[type[BaseModel]] = LexiconParams
    input_schema: ClassVar[dict] = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    output_schema: ClassVar[dict] = {"type": "object", "properties": {"text": {"type": "string"}}}
    primary_metric: ClassVar[Metric] = Metric("exact_match", True)

    def validate(self, params: LexiconParams, columns: tuple[Column, ...]) -> None:
        raise InvalidInput("kind 'lexicon' is pretrained: install it with a lexicon instead of training it")

    def train(self, data: TrainingData, params: LexiconParams, progress, workdir: Path) -> TrainResult:
        raise InvalidInput("kind 'lexicon' is pretrained: install it with a lexicon instead of training it")

    def install(self, params: LexiconParams, workdir: Path) -> TrainResult:
        (workdir / "lexicon.json").write_text(json.dumps(params.lexicon))
        return TrainResult(metrics={}, primary_metric=self.primary_metric, summary={"words": len(params.lexicon)})

    def load(self, workdir: Path) -> _LexiconPredictor:
        return _LexiconPredictor(json.loads((workdir / "lexicon.json").read_text()))

    def evaluate(self, predictor: _LexiconPredictor, data: TrainingData, params: LexiconParams) -> dict[str, float]:
        rows = data.read(["text", "expected"]).to_pylist()
        outputs = predictor.predict([{"text": row["text"]} for row in rows])
        hits = [out["text"] == row["expected"] for out, row in zip(outputs, rows, strict=True)]
        return {"exact_match": float(np.mean(hits)) if hits else 0.0}

    def feedback_rows(self, params: LexiconParams, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        return [
            {"text": r.input["text"], "expected": r.feedback["label"]}
            for r in records
            if isinstance(r.feedback.get("label"), str)
        ]

    @classmethod
    def example(cls) -> KindExample:
        return KindExample(
            train=None,
            params={"lexicon": {"colour": "color"}},
            batch=[{"text": "a colour chart"}, {"text": "plain"}],
            bad_batch=[{"text": 3}],
            bad_params={"lexicon": ["not", "a", "mapping"]},
            feedback=[
                FeedbackRecord(input={"text": "grey"}, output={"text": "grey"}, feedback={"label": "gray"}),
            ],
        )
