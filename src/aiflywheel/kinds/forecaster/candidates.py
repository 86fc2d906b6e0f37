"""Forecasts of every candidate model from one cut of the data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aiflywheel.kinds.forecaster import statistical
from aiflywheel.kinds.forecaster.global_model import GlobalConfig, GlobalModel
from aiflywheel.kinds.forecaster.params import GLOBAL, STATISTICAL, ForecasterParams
from aiflywheel.kinds.forecaster.series import Panel


@dataclass
class Candidates:
    """Point forecasts per model: ``unique_id, step, ds, <model>...``, and the fitted global model if any."""

    frame: pd.DataFrame
    global_model: GlobalModel | None


def forecast_all(
    panel: Panel, train: pd.DataFrame, future: pd.DataFrame, p: ForecasterParams, horizon: int, n_jobs: int
) -> Candidates:
    """Fit every candidate on ``train`` and forecast ``horizon`` steps; ``future`` holds covariates per step."""
    names = [name for name in p.models if name in STATISTICAL]
    result = statistical.forecast(train, names, panel.season_length, horizon, panel.freq, n_jobs)
    global_model = None
    if GLOBAL in p.models:
        lengths = train.groupby("unique_id", sort=False).size()
        config = GlobalConfig.for_data(
            panel.freq, panel.season_length, panel.integer_time, p.covariates, p.static_columns, lengths
        )
        global_model = GlobalModel.fit(train, config, p.seed, max(1, n_jobs))
        learned = global_model.predict(horizon, future if p.covariates else None)
        result = learned if result is None else result.merge(learned, on=["unique_id", "ds"], how="left")
    result = result.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    result.insert(1, "step", result.groupby("unique_id", sort=False).cumcount() + 1)
    result["unique_id"] = result["unique_id"].astype(str)
    for name in p.models:
        values = result[name].to_numpy(dtype="float64")
        if not np.isfinite(values).all():  # a model that returned nothing usable: fall back to the others
            result[name] = np.where(np.isfinite(values), values, np.nan)
    return Candidates(result, global_model)


def future_covariates(panel: Panel, train: pd.DataFrame, horizon: int, known: pd.DataFrame | None) -> pd.DataFrame:
    """Covariates for the ``horizon`` steps after each series' end of ``train``.

    Values come from ``known`` (rows with covariates, matched on series and timestamp)
    where it has them, and otherwise carry each series' last value forward.
    """
    names = [c for c in train.columns if c not in ("unique_id", "ds", "y")]
    last = train.groupby("unique_id", sort=False).tail(1)
    rows = []
    for record in last.itertuples(index=False):
        record = record._asdict()
        for stamp in panel.step(record["ds"], horizon):
            rows.append({"unique_id": record["unique_id"], "ds": stamp, **{n: record[n] for n in names}})
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", *names])
    if panel.integer_time:
        frame["ds"] = frame["ds"].astype("int64")
    else:
        frame["ds"] = pd.to_datetime(frame["ds"]).astype("datetime64[ns]")
    if known is not None and len(known) and names:
        covs = [n for n in names if n in known.columns]
        merged = frame.merge(known[["unique_id", "ds", *covs]], on=["unique_id", "ds"], how="left", suffixes=("", "_k"))
        for name in covs:
            merged[name] = merged[f"{name}_k"].fillna(merged[name])
        frame = merged[["unique_id", "ds", *names]]
    return frame
