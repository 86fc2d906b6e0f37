"""Training: backtest the candidates, fit them on everything, combine per series, write the model files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aiflywheel.kernel.kinds import Metric, Progress, TrainResult
from aiflywheel.kinds.forecaster import backtest
from aiflywheel.kinds.forecaster.candidates import forecast_all, future_covariates
from aiflywheel.kinds.forecaster.metrics import mase_scale
from aiflywheel.kinds.forecaster.params import GLOBAL, ForecasterParams
from aiflywheel.kinds.forecaster.predictor import (
    FORECASTS_FILE,
    FORMAT,
    HISTORY_FILE,
    META_FILE,
    RESIDUALS_FILE,
    SERIES_FILE,
)
from aiflywheel.kinds.forecaster.series import Panel, default_horizon

PRIMARY = Metric("mase", greater_is_better=False)


def cores(p: ForecasterParams) -> int:
    """The processes to fit series with: the param, or the job's thread budget set by the executor."""
    if p.n_jobs:
        return p.n_jobs
    budget = os.environ.get("OMP_NUM_THREADS", "")
    return int(budget) if budget.isdigit() and int(budget) > 0 else (os.cpu_count() or 1)


def fit(panel: Panel, p: ForecasterParams, progress: Progress, workdir: Path) -> TrainResult:
    horizon = p.horizon or default_horizon(panel.season_length)
    n_jobs = cores(p)
    n_series = panel.frame["unique_id"].nunique()
    progress(0.05, f"backtesting {len(p.models)} models on {n_series} series, {p.backtest_windows} windows")

    def step(done: int, total: int) -> None:
        progress(0.05 + 0.6 * done / total, f"backtest window {done} of {total}")

    tested = backtest.run(panel, p, horizon, n_jobs, step)
    intermittent = backtest.intermittency(panel.frame)
    if tested is None:
        progress.log(f"no series is long enough to backtest a horizon of {horizon}; using the mean of all models")
        smooth = [m for m in p.models if m not in backtest.INTERMITTENT_MODELS] or list(p.models)
        chosen = {uid: list(p.models) if flag else smooth for uid, flag in intermittent.items()}
        residuals = _fallback_residuals(panel, horizon)
    else:
        chosen = tested.members(p)
        for uid, flag in intermittent.items():
            chosen.setdefault(uid, tested.default(p, flag))
        residuals = tested.residuals
    default = chosen[next(iter(chosen))] if chosen else list(p.models)
    # Only the models some series combines are refitted on all the data: the backtest already ruled out the rest.
    # The global model stays whenever it is a candidate: it also answers unseen series and what-ifs.
    combined = {name for picked in [default, *chosen.values()] for name in picked}
    used = [name for name in p.models if name in combined or name == GLOBAL]
    progress(0.7, f"fitting {len(used)} models on all {n_series} series")
    future = future_covariates(panel, panel.frame, horizon, panel.future) if p.covariates else None
    final = forecast_all(panel, panel.frame, future, p.model_copy(update={"models": used}), horizon, n_jobs)
    progress(0.9, "combining and writing the model")
    forecasts = final.frame
    ids = forecasts["unique_id"].to_numpy()
    members = [chosen.get(uid, default) for uid in ids]
    stacked = forecasts[used].to_numpy(dtype="float64")
    mask = np.array([[name in picked for name in used] for picked in members])
    with np.errstate(all="ignore"):
        point = np.nanmean(np.where(mask, stacked, np.nan), axis=1)
        lost = ~np.isfinite(point)  # every member failed on this series: the other models stand in
        if lost.any():
            point[lost] = np.nanmean(stacked[lost], axis=1)
    point = np.nan_to_num(point, nan=0.0)
    clip = bool((panel.frame["y"] >= 0).all())
    if clip:
        point = np.maximum(point, 0.0)
    forecasts = forecasts[["unique_id", "step", "ds"]].assign(point=point)
    series = _series_table(panel, p, chosen, default, final.global_model, future)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(forecasts, preserve_index=False), workdir / FORECASTS_FILE)
    pq.write_table(pa.Table.from_pandas(series, preserve_index=False), workdir / SERIES_FILE)
    tail = max(3 * horizon, final.global_model.config.tail if final.global_model else 0, 60)
    history = panel.frame.groupby("unique_id", sort=False).tail(tail)
    pq.write_table(pa.Table.from_pandas(history, preserve_index=False), workdir / HISTORY_FILE)
    np.save(workdir / RESIDUALS_FILE, residuals.astype("float64"), allow_pickle=False)
    if final.global_model is not None:
        final.global_model.save(workdir)
    meta = {
        "format": FORMAT,
        "freq": panel.freq,
        "season": panel.season_length,
        "horizon": horizon,
        "integer_time": panel.integer_time,
        "quantiles": p.quantiles,
        "models": list(p.models),
        "default_members": default,
        "id_column": p.id_column,
        "time_column": p.time_column,
        "target": p.target,
        "covariates": list(p.covariates),
        "static_columns": list(p.static_columns),
        "clip_at_zero": clip,
    }
    (workdir / META_FILE).write_text(json.dumps(meta, indent=2))
    metrics: dict[str, Any] = dict(tested.metrics) if tested else {"mase": None, "baseline_mase": None}
    metrics.update(n_series=int(n_series), n_dropped_series=len(panel.dropped), horizon=horizon)
    progress(1.0, "done")
    summary = {
        "frequency": str(panel.freq),
        "season_length": panel.season_length,
        "horizon": horizon,
        "selection": p.selection,
        "model_ranking": tested.orders.get(False, []) if tested else list(p.models),
        "model_ranking_intermittent": tested.orders.get(True, []) if tested else [],
        "models_refitted": used,
        "members_used": _usage([chosen.get(uid, default) for uid in series["unique_id"]]),
        "dropped_series": dict(list(panel.dropped.items())[:50]),
        "clip_at_zero": clip,
    }
    return TrainResult(metrics, PRIMARY, summary)


def _series_table(panel, p, chosen, default, global_model, future) -> pd.DataFrame:
    frame = panel.frame
    grouped = frame.groupby("unique_id", sort=False)
    season = panel.season_length
    table = pd.DataFrame(
        {
            "unique_id": list(grouped.groups.keys()),
            "scale": [mase_scale(g["y"].to_numpy(), season) for _, g in grouped],
            "last": grouped["ds"].last().to_numpy(),
            "n_obs": grouped.size().to_numpy(),
        }
    )
    table["unique_id"] = table["unique_id"].astype(str)
    table["members"] = [" + ".join(chosen.get(uid, default)) for uid in table["unique_id"]]
    if global_model is not None:
        table["global_scale"] = table["unique_id"].map(global_model.scale).astype("float64")
    if future is not None and len(future):
        defaults = future.groupby("unique_id", sort=False)[list(p.covariates)].agg(list)
        table["future"] = [json.dumps(defaults.loc[uid].to_dict()) for uid in table["unique_id"]]
    return table


def _fallback_residuals(panel: Panel, horizon: int) -> np.ndarray:
    """Without a backtest: one-step naive errors, scaled, widened like a random walk (√step)."""
    rows = []
    for _, group in panel.frame.groupby("unique_id", sort=False):
        y = group["y"].to_numpy()
        scale = mase_scale(y, panel.season_length)
        steps = np.diff(y) / scale
        rows.extend(steps[:, None] * np.sqrt(np.arange(1, horizon + 1))[None, :])
    return np.asarray(rows) if rows else np.zeros((1, horizon))


def _usage(members: list[list[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for picked in members:
        for name in picked:
            counts[name] = counts.get(name, 0) + 1
    return counts
