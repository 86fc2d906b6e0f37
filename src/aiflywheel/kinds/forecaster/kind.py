"""The ``forecaster`` kind: demand forecasting for many series, with quantiles and backtests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ValidationError

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.forecaster import training
from aiflywheel.kinds.forecaster.example import make_example
from aiflywheel.kinds.forecaster.metrics import coverage, smape
from aiflywheel.kinds.forecaster.params import ForecasterParams
from aiflywheel.kinds.forecaster.predictor import ForecasterPredictor, quantile_key
from aiflywheel.kinds.forecaster.series import load_panel, read_actuals

_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "series_id": {"description": "The series to forecast (under the trained id column's name, or series_id)."},
        "horizon": {"type": "integer", "minimum": 1, "description": "Steps ahead; default: the trained horizon."},
        "quantiles": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}},
        "recent": {"type": "integer", "minimum": 0, "description": "Also return this many past values (charts)."},
        "history": {
            "type": "object",
            "description": "Recent values of a series (timestamps, values, covariates): a new series, or a "
            "what-if on changed history; answered by the global model.",
        },
    },
    "required": ["series_id"],
    "additionalProperties": {"description": "A covariate name: one value per future step (or one for all)."},
}
_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "series_id": {"type": "string"},
        "timestamps": {"type": "array", "description": "ISO dates/times, or integer periods."},
        "p50": {"type": "array", "items": {"type": "number"}, "description": "The point forecast (median)."},
        "model": {"type": "string", "description": "The models combined for this series, or 'lightgbm'."},
    },
    "patternProperties": {"^p[0-9.]+$": {"type": "array", "items": {"type": "number"}}},
}


class ForecasterKind:
    """Forecasts many series: statistical models per series plus a global LightGBM, chosen by backtests.

    Examples
    --------
    >>> ForecasterKind().Params().selection
    'ensemble'
    """

    name: ClassVar[str] = "forecaster"
    description: ClassVar[str] = "Demand forecasting: many series, quantiles, backtested model choice, what-ifs."
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = ForecasterParams
    input_schema: ClassVar[dict[str, Any]] = _INPUT_SCHEMA
    output_schema: ClassVar[dict[str, Any]] = _OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = training.PRIMARY

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        """Raise ``InvalidInput`` if a named column is missing or has the wrong type."""
        p = _params(params)
        logical = {column.name: column.logical for column in columns}
        names = list(logical)
        roles = [(p.id_column, "id"), (p.time_column, "time"), (p.target, "target")]
        roles += [(c, "covariate") for c in p.covariates] + [(c, "static") for c in p.static_columns]
        for column, role in roles:
            if column not in logical:
                raise InvalidInput(f"{role} column {column!r} is not in the dataset; available: {names}")
        if logical[p.target] not in ("numeric", "other"):
            raise InvalidInput(f"target column {p.target!r} must be numeric; it is {logical[p.target]}")
        for column in p.covariates:
            if logical[column] not in ("numeric", "boolean", "other"):
                raise InvalidInput(f"covariate {column!r} must be numeric or boolean; it is {logical[column]}")
        if logical[p.time_column] not in ("datetime", "numeric", "text", "categorical", "other"):
            raise InvalidInput(f"time column {p.time_column!r} must hold dates, times or integer periods")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Backtest, fit and combine; write the forecasts and models into ``workdir``."""
        p = _params(params)
        self.validate(p, data.columns)
        progress(0.0, "reading the dataset")
        panel = load_panel(_read(data, p), p)
        for uid, reason in list(panel.dropped.items())[:20]:
            progress.log(f"left out series {uid!r}: {reason}")
        return training.fit(panel, p, progress, Path(workdir))

    def load(self, workdir: Path) -> ForecasterPredictor:
        return ForecasterPredictor.load(Path(workdir))

    def evaluate(self, predictor: ForecasterPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Score the stored forecasts against the rows of ``data`` that fall inside their horizon.

        These are the actuals that arrived after training (feedback). A dataset with no such
        row (the training data itself, say) scores nothing: ``mase`` is None, ``n_scored`` 0.
        """
        p = _params(params)
        actuals = read_actuals(_read(data, p), p, predictor.integer_time)
        low, high = min(predictor.quantiles), max(predictor.quantiles)
        rows = []
        for uid, group in actuals.groupby("unique_id", sort=False):
            if uid not in predictor._rows:
                continue
            forecast = predictor.predict([{p.id_column: uid, "quantiles": sorted({low, 0.5, high})}])[0]
            stamps = {s: i for i, s in enumerate(forecast["timestamps"])}
            for stamp, value in zip(group["shown"], group["y"], strict=True):
                if stamp in stamps:
                    i = stamps[stamp]
                    lo, hi = forecast[quantile_key(low)][i], forecast[quantile_key(high)][i]
                    rows.append((uid, value, forecast["p50"][i], lo, hi, predictor._scales[uid]))
        metrics: dict[str, Any] = {"n_scored": len(rows), "n_series": len({r[0] for r in rows})}
        if not rows:
            return {"mase": None, "smape": None, "coverage": None, **metrics}
        frame = pd.DataFrame(rows, columns=["uid", "y", "p50", "lo", "hi", "scale"])
        frame["abs_scaled"] = (frame["y"] - frame["p50"]).abs() / frame["scale"]
        metrics["mase"] = float(frame.groupby("uid")["abs_scaled"].mean().mean())
        metrics["smape"] = smape(frame["y"].to_numpy(), frame["p50"].to_numpy())
        metrics["coverage"] = coverage(frame["y"].to_numpy(), frame["lo"].to_numpy(), frame["hi"].to_numpy())
        metrics["coverage_nominal"] = round(high - low, 6)
        return metrics

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """Actuals as training rows: (series, timestamp, value) for each forecast step they cover.

        The feedback's ``outcome`` (or ``label``) is a list aligned with the forecast's
        timestamps (None for unknown steps), a mapping timestamp → value, or one number
        (the first step's actual).
        """
        p = _params(params)
        rows = []
        for record in records:
            uid = record.input.get(p.id_column, record.input.get("series_id"))
            stamps = record.output.get("timestamps") or []
            actual = next(
                (record.feedback[k] for k in ("outcome", "label") if record.feedback.get(k) is not None), None
            )
            if uid is None or actual is None or not stamps:
                continue
            if isinstance(actual, Mapping):
                pairs = [(stamp, actual.get(str(stamp))) for stamp in stamps]
            elif isinstance(actual, list):
                pairs = list(zip(stamps, actual, strict=False))
            else:
                pairs = [(stamps[0], actual)]
            for stamp, value in pairs:
                if _number(value):
                    rows.append({p.id_column: str(uid), p.time_column: stamp, p.target: float(value)})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and bool(np.isfinite(value))


def _params(params: BaseModel | Mapping[str, Any]) -> ForecasterParams:
    if isinstance(params, ForecasterParams):
        return params
    raw = params.model_dump() if isinstance(params, BaseModel) else dict(params)
    try:
        return ForecasterParams.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"invalid parameters for kind 'forecaster': {exc}") from exc


def _read(data: TrainingData, p: ForecasterParams) -> pd.DataFrame:
    wanted = [p.id_column, p.time_column, p.target, *p.covariates, *p.static_columns]
    present = [name for name in wanted if name in data.column_names()]
    try:
        return data.to_pandas(columns=present)
    except (pa.ArrowException, OSError) as exc:
        raise KindFailed(f"could not read the dataset at {data.path}: {exc}") from exc
