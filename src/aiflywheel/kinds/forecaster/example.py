"""A tiny, made-up monthly example for the conformance suite (real-data tests use M3)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample


def make_example() -> KindExample:
    rng = np.random.default_rng(7)
    ids, stamps, values = [], [], []
    months = np.arange("2020-01", "2024-01", dtype="datetime64[M]")
    for i, level in enumerate((50.0, 120.0, 300.0, 80.0)):
        season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(len(months)) / 12 + i)
        trend = 1 + 0.01 * np.arange(len(months))
        series = level * season * trend + rng.normal(0, level * 0.05, len(months))
        ids += [f"s{i + 1}"] * len(months)
        stamps += [str(m) + "-01" for m in months]
        values += list(np.round(series, 2))
    table = pa.table({"series_id": ids, "timestamp": pa.array(stamps).cast(pa.date32()), "value": values})
    return KindExample(
        train=table,
        params={"horizon": 6, "backtest_windows": 1, "models": ["auto_ets", "seasonal_naive", "lightgbm"], "n_jobs": 1},
        batch=[{"series_id": "s1", "horizon": 3}, {"series_id": "s2", "quantiles": [0.05, 0.5, 0.95]}],
        bad_batch=[{"series_id": "no-such-series", "horizon": 3}],
        bad_params={"horizon": 0},
        feedback=[
            FeedbackRecord(
                input={"series_id": "s1", "horizon": 2},
                output={"series_id": "s1", "timestamps": ["2024-01-01", "2024-02-01"], "p50": [60.0, 61.0]},
                feedback={"outcome": [58.5, None]},
            )
        ],
    )
