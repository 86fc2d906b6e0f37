"""``check_kind``: the conformance suite every kind, ours or a plug-in's, must pass.

It trains the kind on its own tiny example, round-trips the artifact through a fresh
directory, predicts a batch, evaluates, turns feedback into rows, and checks that bad
parameters and bad inputs raise ``InvalidInput`` (a 4xx) instead of anything else.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import BaseModel

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import Kind, KindExample, Metric, TrainingData, TrainResult, parse_params
from aiflywheel.kernel.names import check_name


class ConformanceError(AssertionError):
    """A kind broke the protocol; the message says which rule."""


class _RecordingProgress:
    def __init__(self) -> None:
        self.fractions: list[float] = []
        self.lines: list[str] = []

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fractions.append(fraction)

    def log(self, message: str) -> None:
        self.lines.append(message)


def _expect(condition: bool, rule: str) -> None:
    if not condition:
        raise ConformanceError(rule)


def _expect_invalid(call, rule: str) -> None:
    try:
        call()
    except InvalidInput:
        return
    except Exception as exc:  # noqa: BLE001 - anything else is the failure being reported
        raise ConformanceError(f"{rule}: raised {type(exc).__name__}: {exc} instead of InvalidInput") from exc
    raise ConformanceError(f"{rule}: raised nothing")


def check_kind(kind: Kind, example: KindExample | None = None, workdir: Path | None = None) -> dict[str, Any]:
    """Run the whole protocol on ``kind``; raise ``ConformanceError`` naming the first broken rule.

    Returns the metrics of the example training, for further assertions.
    """
    for attribute, expected in (
        ("name", str),
        ("description", str),
        ("pretrained", bool),
        ("primary_metric", Metric),
        ("input_schema", dict),
        ("output_schema", dict),
    ):
        _expect(isinstance(getattr(kind, attribute, None), expected), f"{attribute} must be a {expected.__name__}")
    _expect(isinstance(kind.Params, type) and issubclass(kind.Params, BaseModel), "Params must be a pydantic model")
    example = example or kind.example()
    _expect_invalid(lambda: parse_params(kind, example.bad_params), "bad_params must be rejected")
    params = parse_params(kind, example.params)

    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        root = Path(scratch)
        if kind.pretrained:
            result = _check_install(kind, params, example, root)
        if example.train is None:
            _expect(kind.pretrained, "only a pretrained kind may leave the example's train table out")
            rows = kind.feedback_rows(params, example.feedback)
            _expect_rows(rows)
            return result.metrics
        pq.write_table(example.train, root / "train.parquet")
        (root / "ingest").mkdir()
        ingested = ingest(root / "train.parquet", root / "ingest")
        data = TrainingData(path=ingested.path, columns=ingested.columns)
        kind.validate(params, data.columns)

        model_dir = root / "model"
        model_dir.mkdir()
        progress = _RecordingProgress()
        result = kind.train(data, params, progress, model_dir)
        _expect(isinstance(result, TrainResult), "train must return a TrainResult")
        _expect(any(model_dir.iterdir()), "train must write the model's files into workdir")
        _expect(
            isinstance(result.metrics.get(result.primary_metric.name), int | float),
            "train's metrics must include its primary metric as a number",
        )
        _expect(all(0.0 <= f <= 1.0 for f in progress.fractions), "progress fractions must lie in [0, 1]")
        json.dumps(result.metrics), json.dumps(result.summary)
        predictor = _check_predictor(kind, model_dir, example, root)

        metrics = kind.evaluate(predictor, data, params)
        _expect(
            isinstance(metrics, dict) and result.primary_metric.name in metrics,
            "evaluate must return the primary metric",
        )

        rows = kind.feedback_rows(params, example.feedback)
        _expect_rows(rows)
        known = set(data.column_names())
        _expect(all(set(r) <= known for r in rows), "feedback rows may only use the training data's columns")
    return result.metrics


def _check_install(kind: Kind, params: BaseModel, example: KindExample, root: Path) -> TrainResult:
    """A pretrained kind installs without a dataset, and its declared services take valid params."""
    services = getattr(kind, "services", None)
    _expect(
        isinstance(services, dict) and callable(getattr(kind, "install", None)),
        "a pretrained kind needs services and install",
    )
    for endpoint, service_params in services.items():
        check_name(endpoint, "endpoint")
        parse_params(kind, service_params)
    model_dir = root / "installed"
    model_dir.mkdir()
    result = kind.install(params, model_dir)
    _expect(isinstance(result, TrainResult), "install must return a TrainResult")
    _expect(any(model_dir.iterdir()), "install must write what load needs into workdir")
    json.dumps(result.metrics), json.dumps(result.summary)
    _check_predictor(kind, model_dir, example, root)
    return result


def _check_predictor(kind: Kind, model_dir: Path, example: KindExample, root: Path):
    """Load the model from a fresh directory, predict the example batch, and reject the bad one."""
    moved = root / f"moved-{model_dir.name}"
    shutil.copytree(model_dir, moved)
    shutil.rmtree(model_dir)
    predictor = kind.load(moved)
    predictions = predictor.predict(example.batch)
    _expect(
        isinstance(predictions, list) and len(predictions) == len(example.batch),
        "predict must return one output per input",
    )
    _expect(all(isinstance(p, dict) for p in predictions), "each prediction must be a dict")
    json.dumps(predictions)
    _expect(kind.load(moved).predict(example.batch) == predictions, "a reloaded predictor must predict the same")
    _expect(predictor.predict([]) == [], "an empty batch must give an empty list")
    _expect_invalid(lambda: predictor.predict(example.bad_batch), "a bad batch must be rejected")
    return predictor


def _expect_rows(rows) -> None:
    _expect(isinstance(rows, list) and all(isinstance(r, dict) for r in rows), "feedback_rows must return dicts")
    _expect(len(rows) > 0, "the example's feedback must produce training rows")
