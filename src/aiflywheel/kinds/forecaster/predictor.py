"""The trained forecaster's files and the predictor that serves them.

A model directory holds ``forecaster.json`` (format, frequency, columns, defaults),
``forecasts.parquet`` (each series' combined point forecast for every step up to the
horizon), ``series.parquet`` (scale, members, last timestamp), ``history.parquet`` (the
recent values, for charts and the global model), ``residuals.npy`` (the scaled backtest
errors the quantiles come from) and, with the global model, ``lightgbm.txt`` and
``lightgbm.json``. No pickle.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kinds.forecaster.global_model import CONFIG_FILE, GlobalModel
from aiflywheel.kinds.forecaster.metrics import mase_scale

FORMAT = "aiflywheel.forecaster/1"
META_FILE = "forecaster.json"
FORECASTS_FILE = "forecasts.parquet"
SERIES_FILE = "series.parquet"
HISTORY_FILE = "history.parquet"
RESIDUALS_FILE = "residuals.npy"
MIN_RESIDUALS_PER_STEP = 20  # fewer: the steps' errors are pooled
MIN_RESIDUALS_FOR_SKEW = 100  # fewer: symmetric bands


def quantile_key(q: float) -> str:
    """0.1 → 'p10', 0.025 → 'p2.5'."""
    return f"p{round(q * 100, 6):g}"


def show_time(value: Any, integer_time: bool) -> Any:
    if integer_time:
        return int(value)
    stamp = pd.Timestamp(value)
    return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()


class ForecasterPredictor:
    """Serves stored forecasts with quantiles; what-if and unseen series go through the global model."""

    def __init__(self, workdir: Path, meta: dict, forecasts: pd.DataFrame, series: pd.DataFrame, residuals: np.ndarray):
        self.workdir = workdir
        self.meta = meta
        self.horizon = int(meta["horizon"])
        self.integer_time = bool(meta["integer_time"])
        self.quantiles = [float(q) for q in meta["quantiles"]]
        self.covariates = list(meta["covariates"])
        self.id_column = meta["id_column"]
        self.residuals = residuals
        self.clip = bool(meta["clip_at_zero"])
        points = forecasts["point"].to_numpy(dtype="float64").reshape(-1, self.horizon)
        stamps = [show_time(v, self.integer_time) for v in forecasts["ds"]]
        order = forecasts["unique_id"].to_numpy()[:: self.horizon]
        self._rows = {str(uid): i for i, uid in enumerate(order)}
        self._points = points
        self._stamps = [stamps[i * self.horizon : (i + 1) * self.horizon] for i in range(len(order))]
        self.series = series.set_index("unique_id")
        self._scales = self.series["scale"].to_dict()
        self._models = self.series["members"].to_dict()
        self._default_bands = self._bands(self.quantiles)
        self._global: GlobalModel | None = None
        self._history: dict[str, pd.DataFrame] | None = None
        self._lock = threading.Lock()

    # --- serving ---------------------------------------------------------------------------

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One forecast per instance; raises ``InvalidInput`` naming the instance and field at fault."""
        if not isinstance(batch, list):
            raise InvalidInput("a batch must be a list of instances")
        return [self._one(i, instance) for i, instance in enumerate(batch)]

    def _one(self, index: int, instance: Any) -> dict[str, Any]:
        where = f"instance {index}"
        if not isinstance(instance, dict):
            raise InvalidInput(f"{where} must be an object like {{'series_id': 'A', 'horizon': 6}}")
        allowed = {self.id_column, "series_id", "horizon", "quantiles", "history", "recent", *self.covariates}
        unknown = sorted(set(instance) - allowed)
        if unknown:
            raise InvalidInput(f"{where} has unknown fields {unknown}; allowed: {sorted(allowed)}")
        uid = instance.get(self.id_column, instance.get("series_id"))
        if uid is None or isinstance(uid, dict | list):
            raise InvalidInput(f"{where} needs {self.id_column!r}: the id of the series to forecast")
        uid = str(uid)
        horizon = self._horizon(instance.get("horizon", self.horizon), where)
        quantiles = self._quantiles(instance.get("quantiles"), where)
        changed = {name: instance[name] for name in self.covariates if name in instance}
        history = instance.get("history")
        recent = self._recent_count(instance.get("recent", 0), where)
        if history is not None or changed or uid not in self._rows:
            out = self._through_global(uid, horizon, quantiles, changed, history, where)
        else:
            row = self._rows[uid]
            point = self._points[row, :horizon]
            bands = self._default_bands if instance.get("quantiles") is None else self._bands(quantiles)
            out = {"series_id": uid, "timestamps": self._stamps[row][:horizon], "model": self._models[uid]}
            out.update(self._render(point, self._scales[uid], bands, quantiles, horizon))
        if recent and uid in self._rows:
            past = self.history(uid).tail(recent)
            out["recent"] = {
                "timestamps": [show_time(v, self.integer_time) for v in past["ds"]],
                "values": [float(v) for v in past["y"]],
            }
        return out

    def _recent_count(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{where}: recent must be a whole number of past values to return, got {value!r}")
        return value

    def _horizon(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise InvalidInput(f"{where}: horizon must be a whole number, got {value!r}")
        if not 1 <= int(value) <= self.horizon:
            raise InvalidInput(f"{where}: horizon must be between 1 and {self.horizon} (trained horizon), got {value}")
        return int(value)

    def _quantiles(self, value: Any, where: str) -> list[float]:
        if value is None:
            return self.quantiles
        if not isinstance(value, list) or not value:
            raise InvalidInput(f"{where}: quantiles must be a non-empty list of numbers between 0 and 1")
        for q in value:
            if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q < 1:
                raise InvalidInput(f"{where}: quantile {q!r} must be a number strictly between 0 and 1")
        return sorted({float(q) for q in value})

    def _bands(self, quantiles: list[float]) -> np.ndarray:
        """Scaled error quantiles: (quantiles, horizon).

        With many backtest errors each step gets its own empirical quantiles (skew
        included); with few, symmetric bands from the absolute errors are steadier, and
        with very few the steps are pooled.
        """
        errors = self.residuals
        q = np.asarray(quantiles)
        if errors.shape[0] >= MIN_RESIDUALS_FOR_SKEW:
            return np.quantile(errors, q, axis=0).reshape(len(q), -1)
        size = np.abs(errors)
        if errors.shape[0] < MIN_RESIDUALS_PER_STEP:
            size = np.repeat(size.reshape(-1, 1), self.horizon, axis=1)
        levels = np.quantile(size, np.abs(2 * q - 1), axis=0).reshape(len(q), -1)
        return np.sign(q - 0.5)[:, None] * levels

    def _render(self, point, scale, bands, quantiles, horizon) -> dict[str, list[float]]:
        values = point[None, :] + scale * bands[:, :horizon]
        if 0.5 in quantiles:
            values[quantiles.index(0.5)] = point
        values = np.sort(values, axis=0)
        if self.clip:
            values = np.maximum(values, 0.0)
            point = np.maximum(point, 0.0)
        out = {quantile_key(q): [float(v) for v in row] for q, row in zip(quantiles, values, strict=True)}
        out.setdefault("p50", [float(v) for v in point])
        return out

    # --- the global model: what-if and unseen series ---------------------------------------

    def _through_global(self, uid, horizon, quantiles, changed, history, where) -> dict[str, Any]:
        model = self.global_model()
        if model is None:
            reason = "was not in the training data" if uid not in self._rows else "cannot take covariates or history"
            raise InvalidInput(
                f"{where}: series {uid!r} {reason}, and this forecaster has no global model (train with "
                "'lightgbm' among its models to forecast new series and what-ifs)"
            )
        if history is not None:
            recent = self._history_frame(uid, history, where)
        elif uid in self._rows:
            recent = None
        else:
            raise InvalidInput(
                f"{where}: series {uid!r} was not in the training data; send its recent values as "
                "'history': {'timestamps': [...], 'values': [...]} to forecast it with the global model"
            )
        stamps = self._future_stamps(uid, recent, horizon)
        future = self._future_frame(uid, stamps, changed, where)
        try:
            with self._lock:
                if recent is None:
                    frame = model.engine.predict(horizon, X_df=model._x(future), ids=[uid])
                    frame["lightgbm"] = frame["lightgbm"].to_numpy() * model.scale[uid]
                else:
                    frame = model.predict_new(recent, horizon, future if self.covariates else None)
        except (ValueError, KeyError) as exc:
            raise InvalidInput(f"{where}: the global model cannot forecast series {uid!r}: {exc}") from exc
        point = frame["lightgbm"].to_numpy(dtype="float64")[:horizon]
        scale = self._scales.get(uid) if recent is None else mase_scale(recent["y"].to_numpy(), self.meta["season"])
        out = {"series_id": uid, "timestamps": [show_time(s, self.integer_time) for s in stamps], "model": "lightgbm"}
        out.update(self._render(point, scale, self._bands(quantiles), quantiles, horizon))
        return out

    def global_model(self) -> GlobalModel | None:
        if not (self.workdir / CONFIG_FILE).exists():
            return None
        with self._lock:
            if self._global is None:
                history = pq.read_table(self.workdir / HISTORY_FILE).to_pandas()
                scale = self.series["global_scale"]
                self._global = GlobalModel.load(self.workdir, history, scale)
        return self._global

    def _history_frame(self, uid, history, where) -> pd.DataFrame:
        if not isinstance(history, dict) or not isinstance(history.get("values"), list):
            raise InvalidInput(f"{where}: history must be {{'timestamps': [...], 'values': [...]}}")
        values = history["values"]
        stamps = history.get("timestamps")
        if not isinstance(stamps, list) or len(stamps) != len(values):
            raise InvalidInput(f"{where}: history needs as many timestamps as values")
        if len(values) < 3:
            raise InvalidInput(f"{where}: history needs at least 3 values, got {len(values)}")
        try:
            y = np.asarray(values, dtype="float64")
            ds = pd.Series(stamps, dtype="int64") if self.integer_time else pd.to_datetime(pd.Series(stamps))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{where}: history holds a value or timestamp that cannot be read: {exc}") from exc
        if not np.isfinite(y).all():
            raise InvalidInput(f"{where}: history values must be finite numbers")
        frame = pd.DataFrame({"unique_id": uid, "ds": ds.astype("int64" if self.integer_time else "datetime64[ns]")})
        frame["y"] = y
        for name in self.covariates:
            column = history.get(name)
            if not isinstance(column, list) or len(column) != len(values):
                raise InvalidInput(f"{where}: history needs covariate {name!r} with one value per timestamp")
            frame[name] = np.asarray(column, dtype="float64")
        for name in self.meta["static_columns"]:
            frame[name] = history.get(name)
        return frame.sort_values("ds").reset_index(drop=True)

    def _future_stamps(self, uid, recent, horizon) -> list:
        last = recent["ds"].iloc[-1] if recent is not None else self.series.loc[uid, "last"]
        freq = self.meta["freq"]
        if self.integer_time:
            return [int(last) + int(freq) * k for k in range(1, horizon + 1)]
        return list(pd.date_range(pd.Timestamp(last), periods=horizon + 1, freq=freq)[1:])

    def _future_frame(self, uid, stamps, changed, where) -> pd.DataFrame | None:
        if not self.covariates:
            return None
        frame = pd.DataFrame({"unique_id": uid, "ds": stamps})
        defaults = self.series.loc[uid, "future"] if uid in self._rows else None
        for name in self.covariates:
            value = changed.get(name)
            if value is None:
                if defaults is None:
                    raise InvalidInput(f"{where}: covariate {name!r} is needed for a series not seen in training")
                value = json.loads(defaults)[name][: len(stamps)]
            if not isinstance(value, list):
                value = [value] * len(stamps)
            if len(value) < len(stamps):
                raise InvalidInput(f"{where}: covariate {name!r} needs {len(stamps)} values (one per step)")
            try:
                frame[name] = np.asarray(value[: len(stamps)], dtype="float64")
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"{where}: covariate {name!r} must hold numbers: {exc}") from exc
        if not self.integer_time:
            frame["ds"] = pd.to_datetime(frame["ds"]).astype("datetime64[ns]")
        return frame

    # --- files -------------------------------------------------------------------------------

    @classmethod
    def load(cls, workdir: Path) -> ForecasterPredictor:
        workdir = Path(workdir)
        try:
            meta = json.loads((workdir / META_FILE).read_text())
            forecasts = pq.read_table(workdir / FORECASTS_FILE).to_pandas()
            series = pq.read_table(workdir / SERIES_FILE).to_pandas()
            residuals = np.load(workdir / RESIDUALS_FILE, allow_pickle=False)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise KindFailed(f"{workdir} does not hold a readable forecaster: {exc}") from exc
        if meta.get("format") != FORMAT:
            raise KindFailed(f"{workdir / META_FILE} has format {meta.get('format')!r}, not {FORMAT!r}")
        return cls(workdir, meta, forecasts, series, residuals)

    def history(self, uid: str) -> pd.DataFrame:
        """The stored recent values of one series (``ds``, ``y``), for charts."""
        with self._lock:
            if self._history is None:
                table = pq.read_table(self.workdir / HISTORY_FILE, columns=["unique_id", "ds", "y"]).to_pandas()
                self._history = {str(uid): group[["ds", "y"]] for uid, group in table.groupby("unique_id", sort=False)}
        return self._history[uid]
