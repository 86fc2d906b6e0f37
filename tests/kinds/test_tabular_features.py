"""The serving fast path (rows → features without pandas) must agree with the training path."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.tabular.features import FeaturePipeline


@pytest.fixture(scope="module")
def claims(shared_data):
    return pd.read_csv(shared_data / "fraud" / "vehicle_claims_dev.csv").head(3000)


def test_rows_and_frames_give_the_same_features(claims):
    frame = claims.copy()
    frame["Claimed"] = pd.to_datetime("1994-01-01") + pd.to_timedelta(np.arange(len(frame)) * 37, unit="h")
    frame["Flag"] = np.arange(len(frame)) % 3 == 0
    pipeline = FeaturePipeline.fit(frame, {}, {"FraudFound_P": "target"})
    assert {spec.type for spec in pipeline.columns} >= {"numeric", "categorical", "datetime", "boolean"}
    rows = frame.head(200).to_dict("records")
    rows[0]["Make"] = "a make never seen"
    rows[1].pop("Age")
    rows[2]["Claimed"] = "1995-06-30T12:00:00Z"
    rows[3]["Claimed"] = dt.date(1995, 1, 2)
    rows[4]["Flag"] = "yes"
    rows[5]["Age"] = "41"
    fast = pipeline.transform_rows(rows)
    slow = pipeline.transform(pipeline.frame_from_batch(rows), strict=True)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
    np.testing.assert_allclose(np.nan_to_num(fast), np.nan_to_num(slow))


def test_bad_values_name_row_and_field(claims):
    pipeline = FeaturePipeline.fit(claims, {}, {"FraudFound_P": "target"})
    with pytest.raises(InvalidInput, match="row 1: field 'Age'"):
        pipeline.transform_rows([{"Age": 30}, {"Age": "old"}])
    with pytest.raises(InvalidInput, match="row 0: field 'Age'"):
        pipeline.transform_rows([{"Age": [1, 2]}])
    with pytest.raises(InvalidInput, match="row 0: expected an object"):
        pipeline.transform_rows([[1, 2]])
