"""A tiny deterministic table for the conformance suite: mixed types, missing values, a binary target."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample

ROWS = 400


def make_example() -> KindExample:
    """400 rows: two numbers (one with gaps), a colour with gaps, a flag, a row id and ``y``."""
    rng = np.random.RandomState(7)
    x1 = rng.normal(size=ROWS)
    x2 = rng.uniform(0, 10, size=ROWS)
    colour = rng.choice(["red", "green", "blue"], size=ROWS, p=[0.5, 0.3, 0.2])
    flag = rng.rand(ROWS) < 0.4
    logit = 1.5 * x1 + 0.3 * (x2 - 5) + np.where(colour == "red", 1.0, -0.5) + 0.8 * flag
    y = (rng.rand(ROWS) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    x2_gaps = [None if rng.rand() < 0.1 else float(value) for value in x2]
    colour_gaps = [None if rng.rand() < 0.05 else str(value) for value in colour]
    train = pa.table(
        {
            "row_id": pa.array(np.arange(1000, 1000 + ROWS), pa.int64()),
            "x1": pa.array(x1),
            "x2": pa.array(x2_gaps, pa.float64()),
            "colour": pa.array(colour_gaps, pa.string()),
            "flag": pa.array(flag),
            "y": pa.array(y),
        }
    )
    batch = [
        {"x1": 0.5, "x2": 3.0, "colour": "red", "flag": True},
        {"x1": "-1.25", "colour": "purple"},  # a numeric string; an unseen colour; no x2 or flag
        {},
    ]
    feedback = [
        FeedbackRecord(
            input={"x1": 1.0, "x2": 2.0, "colour": "blue", "flag": False},
            output={"label": 1, "probabilities": {"0": 0.3, "1": 0.7}, "score": 0.7},
            feedback={"label": 0, "event_id": "e1"},
        ),
        FeedbackRecord(
            input={"x1": -2.0, "colour": "red"},
            output={"label": 0, "probabilities": {"0": 0.9, "1": 0.1}, "score": 0.1},
            feedback={"label": 0, "event_id": "e2"},
        ),
        FeedbackRecord(
            input={"x1": 0.0},
            output={"label": 1, "probabilities": {"0": 0.4, "1": 0.6}, "score": 0.6},
            feedback={"reward": 1.0, "event_id": "e3"},  # no label: not a training row
        ),
    ]
    return KindExample(
        train=train,
        params={"target": "y"},
        batch=batch,
        bad_batch=[{"x1": "not a number"}],
        bad_params={"target": "y", "test_size": 5},
        feedback=feedback,
    )
