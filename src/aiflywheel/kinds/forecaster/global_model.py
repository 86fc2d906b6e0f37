"""The global model: one LightGBM over every series through mlforecast.

It learns across series (so it can forecast a series it never saw, from that series'
recent history) and is the only model that uses covariates, which makes it the one for
what-if forecasts. Values are divided by a per-series scale before training, so series
of any size share one model. Saved as LightGBM's text format plus a JSON config: at
load, mlforecast's feature state is rebuilt from the stored history tail. No pickle.
"""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from mlforecast import MLForecast
from mlforecast.lag_transforms import RollingMean
from mlforecast.target_transforms import Differences

MODEL_FILE = "lightgbm.txt"
CONFIG_FILE = "lightgbm.json"
DATE_FEATURES = {12: ["month"], 4: ["quarter"], 7: ["dayofweek"], 5: ["dayofweek"], 24: ["hour", "dayofweek"]}


@dataclass
class GlobalConfig:
    """Everything needed to rebuild the mlforecast pipeline around a saved booster."""

    freq: str | int
    season: int
    integer_time: bool
    covariates: list[str]
    static_columns: list[str]
    static_codes: dict[str, dict[str, int]] = field(default_factory=dict)
    lags: list[int] = field(default_factory=list)
    window: int = 3
    date_features: list[str] = field(default_factory=list)
    # Differencing follows trends, but makes a level-shifting covariate (a promotion) compound step
    # after step; with covariates the model learns levels instead.
    difference: bool = True

    @classmethod
    def for_data(cls, freq, season, integer_time, covariates, static_columns, lengths: pd.Series) -> GlobalConfig:
        longest = int(lengths.max())
        # A lag costs each series that many training rows: keep those that leave most of the longest series.
        lags = sorted({k for k in (1, 2, 3, 4, 5, 6, season, 2 * season) if k <= max(longest // 3, 1)} | {1})
        window = max(3, min(season, 12))
        dates = [] if integer_time else DATE_FEATURES.get(season, [])
        return cls(
            freq, season, integer_time, list(covariates), list(static_columns), {}, lags, window, dates, not covariates
        )

    @property
    def tail(self) -> int:
        """Values per series the features need at prediction time."""
        return max(self.lags) + self.window + 2

    def engine(self, model) -> MLForecast:
        return MLForecast(
            models={"lightgbm": model},
            freq=self.freq,
            lags=self.lags,
            lag_transforms={1: [RollingMean(window_size=self.window)]},
            date_features=self.date_features or None,
            target_transforms=[Differences([1])] if self.difference else None,
        )


class _Booster:
    """A saved LightGBM booster with the ``predict(X)`` that mlforecast calls."""

    def __init__(self, booster: lgb.Booster):
        self.booster = booster

    def predict(self, features):
        return self.booster.predict(features, num_threads=1)


def scales(frame: pd.DataFrame) -> pd.Series:
    """Per-series scale: the mean absolute value (1 where a series is all zeros)."""
    scale = frame.groupby("unique_id", sort=False)["y"].apply(lambda y: float(np.mean(np.abs(y))))
    return scale.where(scale > 0, 1.0)


def encode_static(frame: pd.DataFrame, config: GlobalConfig, fit: bool) -> pd.DataFrame:
    """Static attributes as numeric codes (unknown values become missing)."""
    frame = frame.copy()
    for name in config.static_columns:
        values = frame[name].astype(str)
        if fit:
            config.static_codes[name] = {v: i for i, v in enumerate(sorted(values.unique()))}
        frame[name] = values.map(config.static_codes[name]).astype("float64")
    return frame


class GlobalModel:
    """A fitted (or reloaded) mlforecast pipeline with its booster."""

    def __init__(self, config: GlobalConfig, engine: MLForecast, scale: pd.Series):
        self.config = config
        self.engine = engine
        self.scale = scale

    @classmethod
    def fit(cls, frame: pd.DataFrame, config: GlobalConfig, seed: int, threads: int) -> GlobalModel:
        scale = scales(frame)
        train = encode_static(_scaled(frame, scale, config), config, fit=True)
        rows = max(len(train) - len(scale) * (max(config.lags) + 1), 1)
        model = lgb.LGBMRegressor(
            n_estimators=300,
            learning_rate=0.05,
            num_leaves=31,
            min_child_samples=max(3, min(20, rows // 20)),
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.9,
            random_state=seed,
            n_jobs=threads,
            verbosity=-1,
        )
        engine = config.engine(model)
        with _quiet_short_series():
            engine.fit(train, static_features=list(config.static_columns), keep_last_n=config.tail)
        engine.models_ = {"lightgbm": _Booster(engine.models_["lightgbm"].booster_)}
        return cls(config, engine, scale)

    def predict(self, horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """``unique_id, ds, lightgbm`` for every fitted series; ``future`` holds covariates per step."""
        x_df = self._x(future)
        out = self.engine.predict(horizon, X_df=x_df)
        return self._unscale(out, self.scale)

    def predict_new(self, history: pd.DataFrame, horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecasts for series given with their own recent ``history`` (seen in training or not)."""
        scale = scales(history)
        new = encode_static(_scaled(history, scale, self.config), self.config, fit=False)
        out = self.engine.predict(horizon, new_df=new, X_df=self._x(future))
        return self._unscale(out, scale)

    def save(self, workdir: Path) -> None:
        self.engine.models_["lightgbm"].booster.save_model(str(workdir / MODEL_FILE))
        (workdir / CONFIG_FILE).write_text(json.dumps(asdict(self.config)))

    @classmethod
    def load(cls, workdir: Path, history: pd.DataFrame, scale: pd.Series) -> GlobalModel:
        """Rebuild the pipeline around the saved booster from each series' stored recent values."""
        config = GlobalConfig(**json.loads((workdir / CONFIG_FILE).read_text()))
        booster = _Booster(lgb.Booster(model_file=str(workdir / MODEL_FILE)))
        engine = config.engine(booster)
        prepared = encode_static(_scaled(history, scale, config), config, fit=False)
        with _quiet_short_series():
            engine.preprocess(prepared, static_features=list(config.static_columns), keep_last_n=config.tail)
        engine.models_ = {"lightgbm": booster}
        return cls(config, engine, scale)

    def _x(self, future: pd.DataFrame | None) -> pd.DataFrame | None:
        if not self.config.covariates:
            return None
        return future[["unique_id", "ds", *self.config.covariates]]

    @staticmethod
    def _unscale(out: pd.DataFrame, scale: pd.Series) -> pd.DataFrame:
        out = out.reset_index(drop=True)
        out["lightgbm"] = out["lightgbm"].to_numpy() * out["unique_id"].map(scale).to_numpy()
        return out


@contextmanager
def _quiet_short_series():
    """mlforecast warns that series shorter than the lags give no training rows; they are still forecast."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The following series were dropped completely", category=UserWarning)
        yield


def _scaled(frame: pd.DataFrame, scale: pd.Series, config: GlobalConfig) -> pd.DataFrame:
    columns = ["unique_id", "ds", "y", *config.covariates, *config.static_columns]
    out = frame[columns].copy()
    out["y"] = out["y"].to_numpy() / out["unique_id"].map(scale).to_numpy()
    return out
