"""The per-series statistical models, fitted through statsforecast."""

from __future__ import annotations

import os
import warnings

import pandas as pd

# statsforecast compiles its models with numba on first use in every process (seconds per model,
# again in each worker of its pool); this asks it to keep the machine code in numba's file cache.
os.environ.setdefault("NIXTLA_NUMBA_CACHE", "1")
from statsforecast import StatsForecast  # noqa: E402 - after the cache setting
from statsforecast.models import (  # noqa: E402
    ADIDA,
    IMAPA,
    AutoARIMA,
    AutoETS,
    AutoTheta,
    CrostonOptimized,
    Naive,
    SeasonalNaive,
)

SERIES_PER_PROCESS = 50


def build(name: str, season: int):
    """The statsforecast model behind one of our names, with the season length of the data."""
    if name == "auto_ets":
        return AutoETS(season_length=season, alias=name)
    if name == "auto_theta":
        return AutoTheta(season_length=season, alias=name)
    if name == "auto_arima":
        # R's auto.arima rule: search orders with the fast conditional-sum-of-squares approximation for series
        # longer than 150 points or seasons over 12, then refit the chosen order exactly. statsforecast's default
        # never approximates, which makes the search 10x slower on long monthly series for nearly the same error.
        return AutoARIMA(season_length=season, alias=name, approximation=None)
    if name == "seasonal_naive":
        return SeasonalNaive(season_length=season, alias=name)
    if name == "croston":
        return CrostonOptimized(alias=name)
    if name == "adida":
        return ADIDA(alias=name)
    if name == "imapa":
        return IMAPA(alias=name)
    raise ValueError(f"unknown statistical model {name!r}")


def forecast(frame: pd.DataFrame, names: list[str], season: int, horizon: int, freq: str | int, n_jobs: int):
    """Point forecasts of each model for every series: ``unique_id, ds, <name>...``.

    A model that fails on a series (too short for its season, say) falls back to the naive
    forecast for that series, so one odd series never fails the job.
    """
    if not names:
        return None
    # A pool of processes pays off only with enough series to share out.
    n_jobs = max(1, min(n_jobs, frame["unique_id"].nunique() // SERIES_PER_PROCESS))
    engine = StatsForecast(
        models=[build(name, season) for name in names],
        freq=freq,
        n_jobs=n_jobs,
        fallback_model=Naive(),
    )
    with warnings.catch_warnings():
        # AutoETS and AutoARIMA divide by zero while scoring degenerate candidates (a flat or very short
        # series) and discard those candidates; under warnings-as-errors the whole model would fail instead.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"statsforecast\.")
        # The approximate order search reports optimizer hiccups on candidates it then discards.
        warnings.filterwarnings("ignore", message="possible convergence problem", category=UserWarning)
        result = engine.forecast(df=frame[["unique_id", "ds", "y"]], h=horizon)
    return result.reset_index(drop=True)
