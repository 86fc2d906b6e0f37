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
