"""The forecaster kind on real M3 series and PromoData: accuracy, quantiles, what-ifs, unseen series, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, Kind, KindRegistry, TrainingData, parse_params
from aiflywheel.kinds.forecaster import ForecasterKind, ForecasterPredictor
from aiflywheel.testing import check_kind

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "forecasting"


class Progress:
    def __init__(self):
        self.fractions: list[float] = []
        self.logs: list[str] = []

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fractions.append(fraction)

    def log(self, message: str) -> None:
        self.logs.append(message)


def _logical(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "numeric"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "datetime"
    return "categorical"


def training_data(frame: pd.DataFrame, folder: Path) -> TrainingData:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, folder / "data.parquet")
    columns = tuple(
        Column(f.name, str(f.type), _logical(f.type), table.column(f.name).null_count) for f in table.schema
    )
    return TrainingData(folder / "data.parquet", columns)


def m3(period: str, n: int, split: str = "train") -> pd.DataFrame:
    series = pd.read_csv(DATA / "m3_dev_series.csv")
    ids = series.loc[series["period"] == period, "unique_id"].head(n)
    values = pd.read_csv(DATA / "m3_dev_values.csv")
    values = values[values["unique_id"].isin(ids) & (values["split"] == split)]
    return pd.DataFrame({"series_id": values["unique_id"], "timestamp": values["t"], "value": values["y"]})


def train(folder: Path, frame: pd.DataFrame, **params):
    kind = ForecasterKind()
    data = training_data(frame, folder / "data")
    parsed = parse_params(kind, {"n_jobs": 1, **params})
    result = kind.train(data, parsed, Progress(), folder / "model")
    return kind, parsed, data, result, kind.load(folder / "model")


@pytest.fixture(scope="module")
def quarterly(tmp_path_factory):
    """16 real M3 quarterly series with the default models and selection, the official horizon of 8."""
    return train(tmp_path_factory.mktemp("m3q"), m3("QUARTERLY", 16), season_length=4, horizon=8)


@pytest.fixture(scope="module")
def promo(tmp_path_factory):
    """PromoData: weekly unit sales with two promotion flags as known covariates."""
    raw = pd.read_csv(DATA / "promo_data.csv")
    frame = pd.DataFrame(
        {
            "series_id": "promo",
            "timestamp": pd.date_range("2020-01-05", periods=len(raw), freq="W-SUN"),
            "value": raw["y"].where(raw["split"] == "train"),  # test weeks: future covariate rows
            "Promo1": raw["Promo1"],
            "Promo2": raw["Promo2"],
        }
    )
    return train(
        tmp_path_factory.mktemp("promo"),
        frame,
        covariates=["Promo1", "Promo2"],
        models=["auto_ets", "seasonal_naive", "lightgbm"],
        horizon=13,
    ), raw


# --- the protocol -------------------------------------------------------------------------------


def test_is_registered_and_declares_the_protocol():
    kind = KindRegistry.from_entry_points().get("forecaster")
    assert isinstance(kind, Kind) and isinstance(kind, ForecasterKind)
    assert kind.primary_metric.name == "mase" and not kind.primary_metric.greater_is_better


def test_conforms(tmp_path):
    metrics = check_kind(ForecasterKind(), workdir=tmp_path)
    assert metrics["mase"] < metrics["baseline_mase"]


# --- accuracy and quantiles on real data ----------------------------------------------------------


def test_beats_seasonal_naive_on_held_out_m3_quarters_with_calibrated_intervals(quarterly):
    kind, params, _, result, predictor = quarterly
    actual = m3("QUARTERLY", 16, split="test")
    history = m3("QUARTERLY", 16)
    ours, naive, inside = [], [], []
    for uid, group in actual.groupby("series_id"):
        y = group["value"].to_numpy()
        out = predictor.predict([{"series_id": uid, "horizon": 8}])[0]
        assert out["timestamps"] == group["timestamp"].tolist()
        past = history.loc[history["series_id"] == uid, "value"].to_numpy()
        scale = np.mean(np.abs(past[4:] - past[:-4]))
        ours.append(np.mean(np.abs(np.array(out["p50"]) - y)) / scale)
        naive.append(np.mean(np.abs(np.resize(past[-4:], 8) - y)) / scale)
        inside += list((y >= np.array(out["p10"])) & (y <= np.array(out["p90"])))
    assert np.mean(ours) < 0.85 * np.mean(naive), (np.mean(ours), np.mean(naive))
    assert 0.6 <= np.mean(inside) <= 0.95
    assert result.metrics["mase"] < result.metrics["baseline_mase"]  # the backtest agrees
    evaluated = kind.evaluate(predictor, training_data(actual, Path(predictor.workdir).parent / "test"), params)
    assert evaluated["n_scored"] == 16 * 8 and evaluated["mase"] == pytest.approx(np.mean(ours))


def test_quantiles_are_ordered_and_any_list_is_served(quarterly):
    predictor = quarterly[4]
    out = predictor.predict([{"series_id": "N0649", "horizon": 5, "quantiles": [0.025, 0.5, 0.75, 0.975]}])[0]
    assert set(out) >= {"p2.5", "p50", "p75", "p97.5", "timestamps", "model"}
    bands = np.array([out["p2.5"], out["p50"], out["p75"], out["p97.5"]])
    assert (np.diff(bands, axis=0) >= 0).all() and (bands[0] < bands[-1]).all()
    assert len(out["timestamps"]) == 5


def test_summary_and_training_log_explain_the_choice(quarterly):
    result = quarterly[3]
    assert set(result.summary["model_ranking"]) >= {"auto_ets", "auto_theta", "auto_arima", "lightgbm"}
    assert not set(result.summary["model_ranking"]) & {"croston", "adida", "imapa"}  # no intermittent series
    assert result.metrics["horizon"] == 8 and result.metrics["n_series"] == 16


def test_evaluate_on_the_training_data_scores_nothing(quarterly):
    kind, params, data, _, predictor = quarterly
    assert kind.evaluate(predictor, data, params) == {
        "mase": None,
        "smape": None,
        "coverage": None,
        "n_scored": 0,
        "n_series": 0,
    }


# --- serving: horizons, unseen series, what-ifs -------------------------------------------------


def test_rejects_requests_it_cannot_answer_naming_the_problem(quarterly):
    predictor = quarterly[4]
    with pytest.raises(InvalidInput, match="between 1 and 8"):
        predictor.predict([{"series_id": "N0649", "horizon": 9}])
    with pytest.raises(InvalidInput, match="'nope' was not in the training data; send its recent values"):
        predictor.predict([{"series_id": "nope"}])
    with pytest.raises(InvalidInput, match=r"unknown fields \['colour'\]"):
        predictor.predict([{"series_id": "N0649", "colour": "red"}])
    with pytest.raises(InvalidInput, match="quantile 1.5"):
        predictor.predict([{"series_id": "N0649", "quantiles": [1.5]}])


def test_an_unseen_series_with_history_is_forecast_by_the_global_model(quarterly):
    predictor = quarterly[4]
    other = m3("QUARTERLY", 30).groupby("series_id").filter(lambda g: g.name not in predictor._rows)
    uid, group = next(iter(other.groupby("series_id")))
    history = {"timestamps": group["timestamp"].tolist(), "values": group["value"].tolist()}
    out = predictor.predict([{"series_id": uid, "horizon": 4, "history": history}])[0]
    assert out["model"] == "lightgbm" and out["timestamps"] == [group["timestamp"].max() + k for k in range(1, 5)]
    level = group["value"].tail(8).mean()
    assert all(0.5 * level < v < 1.5 * level for v in out["p50"])  # a forecast at the series' own level


def test_the_model_files_reload_and_serve_the_same(quarterly, tmp_path):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(quarterly[4].workdir, moved)
    again = ForecasterPredictor.load(moved)
    batch = [{"series_id": "N0649"}, {"series_id": "N0650", "horizon": 2}]
    assert again.predict(batch) == quarterly[4].predict(batch)


def test_what_if_promotions_change_the_global_forecast(promo):
    (kind, params, data, result, predictor), raw = promo
    test = raw[raw["split"] == "test"]
    plain = predictor.predict([{"series_id": "promo", "horizon": 13}])[0]
    first = pd.Timestamp("2020-01-05") + pd.Timedelta(weeks=int((raw["split"] == "train").sum()))
    assert plain["timestamps"][0] == first.date().isoformat()  # the week after the last observed one
    on = predictor.predict([{"series_id": "promo", "horizon": 13, "Promo1": 1, "Promo2": 0}])[0]
    off = predictor.predict([{"series_id": "promo", "horizon": 13, "Promo1": 0, "Promo2": 0}])[0]
    assert on["model"] == off["model"] == "lightgbm"
    assert np.mean(on["p50"]) > 1.1 * np.mean(off["p50"])  # promotions sell more, as in the history
    trained = raw.loc[raw["split"] == "train", "y"]
    error = np.mean(np.abs(np.array(plain["p50"]) - test["y"].to_numpy()))
    assert error < np.mean(np.abs(trained.mean() - test["y"].to_numpy()))  # beats the training mean
    with_plan = predictor.predict(
        [{"series_id": "promo", "horizon": 13, "Promo1": test["Promo1"].tolist(), "Promo2": test["Promo2"].tolist()}]
    )[0]
    assert with_plan["p50"] != plain["p50"] and len(with_plan["p10"]) == 13
    with pytest.raises(InvalidInput, match="'Promo1' needs 13 values"):
        predictor.predict([{"series_id": "promo", "horizon": 13, "Promo1": [1, 0]}])


# --- feedback -------------------------------------------------------------------------------------


def test_actuals_become_training_rows():
    kind = ForecasterKind()
    params = parse_params(kind, {"id_column": "store", "time_column": "week", "target": "units"})
    output = {"timestamps": ["2024-01-07", "2024-01-14", "2024-01-21"], "p50": [1.0, 2.0, 3.0]}
    records = [
        FeedbackRecord({"store": "A", "horizon": 3}, output, {"outcome": [4, None, 6.5]}),
        FeedbackRecord({"series_id": "B"}, output, {"label": {"2024-01-14": 3}}),
        FeedbackRecord({"store": "C"}, output, {"outcome": 9}),
        FeedbackRecord({"store": "D"}, output, {"reward": 1.0}),
    ]
    assert kind.feedback_rows(params, records) == [
        {"store": "A", "week": "2024-01-07", "units": 4.0},
        {"store": "A", "week": "2024-01-21", "units": 6.5},
        {"store": "B", "week": "2024-01-14", "units": 3.0},
        {"store": "C", "week": "2024-01-07", "units": 9.0},
    ]


# --- bad input: errors that name the series, timestamp and column ----------------------------------


def _daily(values, ids=None, days=None):
    days = days or [f"2024-01-{d:02d}" for d in range(1, len(values) + 1)]
    return pd.DataFrame({"series_id": ids or ["A"] * len(values), "timestamp": days, "value": values})


@pytest.mark.parametrize(
    ("frame", "params", "message"),
    [
        (
            _daily([1.0, 2, 3, 4, 5], days=["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03", "2024-01-04"]),
            {},
            "series 'A' has 2 rows sharing timestamps, first at 2024-01-02T00:00:00; set duplicates",
        ),
        (
            _daily([1.0, 2, 3, 4, 5, 6, 7], days=[f"2024-01-{d:02d}" for d in (1, 2, 3, 4, 5, 6, 9)]),
            {"gaps": "reject"},
            "series 'A' has no value at 2024-01-07T00:00:00 \\(2 missing periods\\)",
        ),
        (
            _daily([1.0, 2, float("inf"), 4, 5]),
            {},
            "column 'value' holds inf for series 'A' at 2024-01-03T00:00:00, which is not a finite number",
        ),
        (
            _daily([1.0, 2, 3, 4], days=["2024-01-01", "2024-01-02", "soon", "2024-01-04"]),
            {},
            "time column 'timestamp' holds 'soon' for series 'A', which is not a date or time",
        ),
        (_daily([1.0, 2, 3, 4]), {"target": "sales"}, "target column 'sales' is not in the dataset"),
        (_daily([1.0, 2, 3, 4]), {"covariates": ["price"]}, "covariate column 'price' is not in the dataset"),
        (_daily(["1", "2", "x"]), {}, "target column 'value' must be numeric; it is categorical"),
        (_daily([1.0, 2]), {}, "every series has fewer than 3 observations"),
    ],
)
def test_bad_tables_are_rejected_with_a_clear_error(tmp_path, frame, params, message):
    kind = ForecasterKind()
    data = training_data(frame, tmp_path)
    parsed = parse_params(kind, {"n_jobs": 1, "models": ["seasonal_naive"], **params})
    with pytest.raises(InvalidInput, match=message):
        kind.validate(parsed, data.columns)
        kind.train(data, parsed, Progress(), tmp_path / "model")


def test_gaps_and_duplicates_can_be_filled_instead(tmp_path):
    days = ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"]
    frame = _daily([1.0, 2, 3, 4, 5, 6, 7], days=days)
    kind, _, _, result, predictor = train(
        tmp_path, frame, models=["seasonal_naive", "auto_ets"], duplicates="sum", gaps="zero", horizon=3
    )
    assert result.summary["frequency"] == "D" and result.summary["season_length"] == 7
    assert predictor.predict([{"series_id": "A"}])[0]["timestamps"] == ["2024-01-08", "2024-01-09", "2024-01-10"]


def test_bad_parameters_name_the_field():
    kind = ForecasterKind()
    with pytest.raises(InvalidInput, match="quantiles.*strictly between 0 and 1"):
        parse_params(kind, {"quantiles": [0.1, 1.0]})
    with pytest.raises(InvalidInput, match="models.*'prophet'"):
        parse_params(kind, {"models": ["prophet"]})
    with pytest.raises(InvalidInput, match="'value' is the id, time or target column"):
        parse_params(kind, {"covariates": ["value"]})


def test_actuals_appended_to_a_table_with_future_covariates_retrain_cleanly(tmp_path):
    """As the flywheel builds it: the base table (with future promotion rows) plus feedback rows (values only)."""
    raw = pd.read_csv(DATA / "promo_data.csv")
    weeks = pd.date_range("2020-01-05", periods=len(raw), freq="W-SUN")
    base = pd.DataFrame(
        {
            "series_id": "promo",
            "timestamp": weeks,
            "value": raw["y"].where(raw["split"] == "train"),
            "Promo1": raw["Promo1"],
            "Promo2": raw["Promo2"],
        }
    )
    kind = ForecasterKind()
    params = parse_params(kind, {"covariates": ["Promo1", "Promo2"]})
    first = int((raw["split"] == "train").sum())
    output = {"timestamps": [w.date().isoformat() for w in weeks[first : first + 3]]}
    rows = kind.feedback_rows(
        params, [FeedbackRecord({"series_id": "promo"}, output, {"outcome": raw["y"][first : first + 3].tolist()})]
    )
    feedback = pd.DataFrame(rows).assign(timestamp=lambda f: pd.to_datetime(f["timestamp"]))
    table = pd.concat([base, feedback], ignore_index=True)
    *_, result, predictor = train(
        tmp_path, table, covariates=["Promo1", "Promo2"], models=["seasonal_naive", "lightgbm"], horizon=10
    )
    assert predictor.predict([{"series_id": "promo", "horizon": 1}])[0]["timestamps"] == [
        weeks[first + 3].date().isoformat()
    ]
