"""Forecast accuracy: MASE, sMAPE, interval coverage and the seasonal-naive scale."""

from __future__ import annotations

import numpy as np


def mase_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute seasonal difference of the history (lag 1 when it is shorter than two seasons).

    A flat history has no scale; the mean absolute value (or 1) stands in so errors stay finite.
    """
    lag = season if len(history) > season else 1
    if len(history) > lag:
        scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
        if scale > 0:
            return scale
    level = float(np.mean(np.abs(history))) if len(history) else 0.0
    return level if level > 0 else 1.0


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0 to 200), the M3 competition's definition; 0/0 counts as 0."""
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(2 * np.abs(forecast - actual), denominator, out=np.zeros_like(denominator), where=denominator > 0)
    return float(100 * np.mean(ratio))


def coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of actual values inside [low, high]."""
    return float(np.mean((actual >= low) & (actual <= high)))


def seasonal_naive(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    """The last season repeated (the last value when the history is shorter than a season)."""
    period = season if len(history) >= season else 1
    last = history[-period:]
    return np.resize(last, horizon) if period > 1 else np.full(horizon, history[-1], dtype=float)
