"""Drift scores: near zero for the same population, large for a shifted one, per feature."""

import numpy as np
import pyarrow as pa
import pytest

from aiflywheel.kernel.flywheel.drift import drift, sample


@pytest.fixture
def reference():
    rng = np.random.default_rng(1)
    return pa.table(
        {
            "amount": rng.normal(100, 20, 5000),
            "channel": rng.choice(["web", "store", "phone"], 5000, p=[0.6, 0.3, 0.1]).tolist(),
            "target": rng.integers(0, 2, 5000),
        }
    )


def rows(amounts, channels):
    return [{"amount": None if a is None else float(a), "channel": c} for a, c in zip(amounts, channels, strict=True)]


@pytest.mark.parametrize("method", ["psi", "ks"])
def test_the_same_population_does_not_drift(reference, method):
    rng = np.random.default_rng(2)
    current = rows(rng.normal(100, 20, 1000), rng.choice(["web", "store", "phone"], 1000, p=[0.6, 0.3, 0.1]))
    report = drift(reference, current, method)
    assert set(report.features) == {"amount", "channel"}  # "target" is never sent: not compared
    assert report.score < 0.05
    assert report.current_rows == 1000 and report.reference_rows == 5000


@pytest.mark.parametrize("method, floor", [("psi", 1.0), ("ks", 0.5)])
def test_a_shifted_feature_is_found_and_named(reference, method, floor):
    rng = np.random.default_rng(3)
    current = rows(rng.normal(150, 20, 1000), rng.choice(["web", "store", "phone"], 1000, p=[0.6, 0.3, 0.1]))
    report = drift(reference, current, method)
    assert report.feature == "amount" and report.score > floor
    assert report.features["channel"] < 0.05
    assert list(report.top(1)) == ["amount"]


def test_a_new_category_and_missing_values_count_as_drift(reference):
    current = rows([None] * 500 + [100.0] * 500, ["kiosk"] * 1000)
    report = drift(reference, current)
    assert report.features["channel"] > 1.0
    assert report.features["amount"] > 1.0  # half the values missing, none in training


def test_text_sent_for_a_numeric_column_counts_as_missing(reference):
    report = drift(reference, [{"amount": "lots"}] * 100)
    assert report.features["amount"] > 1.0


def test_inputs_that_are_not_objects_have_nothing_to_compare(reference):
    report = drift(reference, ["just text", 42])
    assert report.features == {} and report.score == 0.0 and report.feature is None


def test_sample_keeps_at_most_the_rows_asked_for(reference):
    assert sample(reference, 100).num_rows == 100
    assert sample(reference, 10_000) is reference
