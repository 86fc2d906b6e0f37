"""Rolling-origin backtests: which models to trust for each series, and how wrong the choice tends to be.

Each window cuts every series ``w × horizon`` steps before its end (series too short for
a window sit it out), fits every candidate on what comes before and scores the next
``horizon`` steps with MASE. A series' members are the models with the lowest mean
error over its windows; a series with no window takes the models that rank best across
all series. The errors of the chosen combination are measured with the choice made on
the *other* windows of the series (cross-fitting), so the reported metrics and the
calibration errors behind the quantiles are out-of-sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aiflywheel.kinds.forecaster.candidates import forecast_all, future_covariates
from aiflywheel.kinds.forecaster.metrics import mase_scale, seasonal_naive, smape
from aiflywheel.kinds.forecaster.params import ForecasterParams
from aiflywheel.kinds.forecaster.series import Panel

INTERMITTENT_MODELS = ("croston", "adida", "imapa")
INTERMITTENT_ZEROS = 0.3  # a series with at least this share of zero values is intermittent


@dataclass
class Backtest:
    """Per series and window, each model's MASE; and the cross-fitted errors of the chosen combination."""

    errors: pd.DataFrame  # unique_id, window, <model>... (MASE; NaN where a model is no candidate)
    orders: dict[bool, list[str]]  # intermittent? → candidate models from best to worst by mean rank
    intermittent: dict[str, bool]
    residuals: np.ndarray  # (series-windows, horizon): scaled errors (actual − forecast) / scale
    metrics: dict[str, float] = field(default_factory=dict)

    def members(self, p: ForecasterParams) -> dict[str, list[str]]:
        """The models combined for each backtested series."""
        models = list(p.models)
        means = self.errors.groupby("unique_id", sort=False)[models].mean()
        ids = [str(uid) for uid in means.index]
        return dict(zip(ids, choose(means.to_numpy(), ids, models, self, p), strict=True))

    def default(self, p: ForecasterParams, intermittent: bool) -> list[str]:
        """The members of a series the backtest never saw."""
        order = self.orders.get(intermittent) or self.orders.get(not intermittent) or list(p.models)
        if p.selection == "mean":
            return [m for m in p.models if intermittent or m not in INTERMITTENT_MODELS] or list(p.models)
        return order[: ensemble_size(p)]


def intermittency(frame: pd.DataFrame) -> dict[str, bool]:
    zeros = (frame["y"] == 0).groupby(frame["unique_id"], sort=False).mean()
    return {str(uid): bool(share >= INTERMITTENT_ZEROS) for uid, share in zeros.items()}


def min_train(panel: Panel) -> int:
    return max(4, panel.season_length + 1) if panel.season_length <= 24 else 2 * panel.season_length


def run(
    panel: Panel, p: ForecasterParams, horizon: int, n_jobs: int, progress: Callable[[int, int], None]
) -> Backtest | None:
    """Backtest every candidate; ``None`` when no series is long enough for a single window."""
    frame = panel.frame
    position = frame.groupby("unique_id", sort=False).cumcount()
    length = frame.groupby("unique_id", sort=False)["y"].transform("size")
    folds = []
    for w in range(p.backtest_windows, 0, -1):
        cut = length - w * horizon
        eligible = cut >= min_train(panel)
        if not eligible.any():
            continue
        train = frame.loc[eligible & (position < cut)]
        test = frame.loc[eligible & (position >= cut) & (position < cut + horizon)]
        future = future_covariates(panel, train, horizon, test) if p.covariates else None
        predicted = forecast_all(panel, train, future, p, horizon, n_jobs).frame
        folds.append(_score(w, train, test, predicted, p.models, panel.season_length))
        progress(p.backtest_windows - w + 1, p.backtest_windows)
    if not folds:
        return None
    scored = pd.concat(folds, ignore_index=True)
    return _combine(scored, p, horizon, intermittency(frame))


def choose(scores: np.ndarray, ids: list[str], models: list[str], tested: Backtest, p: ForecasterParams):
    """Members per row of ``scores`` (rows × models, NaN = no score) by the selection rule."""
    picks = []
    per_series = p.selection in ("per_series", "best")
    k = ensemble_size(p)
    for uid, row in zip(ids, scores, strict=True):
        intermittent = tested.intermittent.get(uid, False)
        if not per_series or np.isnan(row).all():
            picks.append(tested.default(p, intermittent))
            continue
        order = tested.orders.get(intermittent) or models
        rank = {m: i for i, m in enumerate(order)}
        allowed = [m for m in models if intermittent or m not in INTERMITTENT_MODELS]
        keyed = sorted(
            allowed,
            key=lambda m: (np.inf if np.isnan(row[models.index(m)]) else row[models.index(m)], rank.get(m, len(order))),
        )
        picks.append(keyed[:k])
    return picks


def ensemble_size(p: ForecasterParams) -> int:
    if p.selection == "best":
        return 1
    return min(p.ensemble_size, len(p.models))


def _score(window: int, train, test, predicted, models: list[str], season: int) -> pd.DataFrame:
    """One row per series: the window, its scale, actuals, naive and every model's forecast."""
    test = test[["unique_id", "ds", "y"]].merge(predicted, on=["unique_id", "ds"], how="left")
    rows = []
    histories = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id", sort=False)}
    for uid, group in test.groupby("unique_id", sort=False):
        history = histories[uid]
        actual = group["y"].to_numpy()
        row = {"unique_id": str(uid), "window": window, "scale": mase_scale(history, season), "actual": actual}
        row["naive"] = seasonal_naive(history, season, len(actual))
        for name in models:
            row[name] = group[name].to_numpy(dtype="float64")
        rows.append(row)
    return pd.DataFrame(rows)


def _combine(scored: pd.DataFrame, p: ForecasterParams, horizon: int, intermittent: dict[str, bool]) -> Backtest:
    models = list(p.models)
    errors = pd.DataFrame({"unique_id": scored["unique_id"], "window": scored["window"]})
    flags = scored["unique_id"].map(intermittent).fillna(False).to_numpy(dtype=bool)
    for name in models:
        values = np.array(
            [
                np.nanmean(np.abs(a - f)) / s if np.isfinite(f).any() else np.nan
                for a, f, s in zip(scored["actual"], scored[name], scored["scale"], strict=True)
            ]
        )
        if name in INTERMITTENT_MODELS:
            values[~flags] = np.nan
        errors[name] = values
    orders = {}
    for flag in (False, True):
        subset = errors.loc[flags == flag, models].dropna(axis=1, how="all")
        if len(subset):
            ranks = subset.rank(axis=1, method="average", na_option="bottom")
            orders[flag] = list(ranks.mean().sort_values(kind="stable").index)
    tested = Backtest(errors, orders, intermittent, np.empty((0, horizon)))
    # Cross-fitting: with per-series choices, each series-window is scored with members chosen on the
    # series' other windows (a series with one window takes the members of unseen series).
    values = errors[models].to_numpy()
    present = ~np.isnan(values)
    groups = errors["unique_id"].to_numpy()
    totals = pd.DataFrame(np.where(present, values, 0.0)).groupby(groups).transform("sum").to_numpy()
    counts = pd.DataFrame(present.astype(float)).groupby(groups).transform("sum").to_numpy()
    rest = counts - present
    others = np.divide(totals - np.where(present, values, 0.0), rest, out=np.full(values.shape, np.nan), where=rest > 0)
    picks = choose(others, [str(g) for g in groups], models, tested, p)
    residuals, actual_all, combined_all, naive_all, scales = [], [], [], [], []
    for row, picked in zip(scored.itertuples(), picks, strict=True):
        combined = np.nanmean(np.vstack([getattr(row, name) for name in picked]), axis=0)
        residuals.append((row.actual - combined) / row.scale)
        actual_all.append(row.actual)
        combined_all.append(combined)
        naive_all.append(row.naive)
        scales.append(row.scale)
    tested.residuals = np.vstack(residuals)
    tested.metrics = {
        "mase": float(np.mean(np.abs(tested.residuals).mean(axis=1))),
        "smape": float(np.mean([smape(a, f) for a, f in zip(actual_all, combined_all, strict=True)])),
        "baseline_mase": float(
            np.mean([np.mean(np.abs(a - n)) / s for a, n, s in zip(actual_all, naive_all, scales, strict=True)])
        ),
        "baseline_smape": float(np.mean([smape(a, n) for a, n in zip(actual_all, naive_all, strict=True)])),
        "backtest_series_windows": len(scored),
        "backtest_horizon": horizon,
    }
    for name in models:
        column = errors[name]
        tested.metrics[f"mase_{name}"] = float(column.mean()) if column.notna().any() else None
    return tested
