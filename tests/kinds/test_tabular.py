"""The tabular kind on real fraud data: quality against baselines, artifacts, inputs, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError
from sklearn.metrics import roc_auc_score

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, Kind, TrainingData, parse_params
from aiflywheel.kinds.components.splits import split_rows
from aiflywheel.kinds.tabular import TabularKind, TabularParams
from aiflywheel.kinds.tabular.features import FeaturePipeline

FRAUD = Path(__file__).resolve().parents[3] / "shared" / "data" / "fraud"
VEHICLE = FRAUD / "vehicle_claims_dev.csv"
CREDITCARD = FRAUD / "creditcard_ulb_sample_dev.csv"


class FakeProgress:
    """Records progress reports and log lines; optionally cancels after some reports."""

    def __init__(self, cancel_after: int | None = None):
        self.fractions: list[float] = []
        self.messages: list[str] = []
        self.logs: list[str] = []
        self.cancel_after = cancel_after

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fractions.append(fraction)
        self.messages.append(message)
        if self.cancel_after is not None and len(self.fractions) > self.cancel_after:
            raise Cancelled("job cancelled")

    def log(self, message: str) -> None:
        self.logs.append(message)


class Cancelled(Exception):
    pass


def _logical(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "numeric"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "datetime"
    return "categorical"


def training_data(table: pa.Table, folder: Path) -> TrainingData:
    """A dataset version as the kernel would hand it over: Parquet plus a schema."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.parquet"
    pq.write_table(table, path)
    columns = tuple(
        Column(field.name, str(field.type), _logical(field.type), table.column(field.name).null_count)
        for field in table.schema
    )
    return TrainingData(path, columns)


class Trained:
    def __init__(self, kind, data, params, progress, workdir, result):
        self.kind, self.data, self.params = kind, data, params
        self.progress, self.workdir, self.result = progress, workdir, result


def _train(factory, csv: Path, name: str, **params) -> Trained:
    kind = TabularKind()
    folder = factory.mktemp(name)
    data = training_data(pcsv.read_csv(csv), folder / "data")
    parsed = parse_params(kind, params)
    progress = FakeProgress()
    workdir = folder / "model"
    result = kind.train(data, parsed, progress, workdir)
    return Trained(kind, data, parsed, progress, workdir, result)


@pytest.fixture(scope="module")
def vehicle(tmp_path_factory) -> Trained:
    return _train(tmp_path_factory, VEHICLE, "vehicle", target="FraudFound_P")


@pytest.fixture(scope="module")
def creditcard(tmp_path_factory) -> Trained:
    return _train(tmp_path_factory, CREDITCARD, "creditcard", target="Class")


@pytest.fixture(scope="module")
def vehicle_age(tmp_path_factory) -> Trained:
    return _train(tmp_path_factory, VEHICLE, "age", target="Age", exclude=["FraudFound_P"])


@pytest.fixture(scope="module")
def vehicle_price(tmp_path_factory) -> Trained:
    return _train(tmp_path_factory, VEHICLE, "price", target="VehiclePrice", exclude=["FraudFound_P"])


def _rows(csv: Path, n: int) -> list[dict]:
    return pcsv.read_csv(csv).slice(0, n).to_pylist()


# --- the protocol ----------------------------------------------------------------------------


def test_declares_the_kind_protocol():
    kind = TabularKind()
    assert isinstance(kind, Kind)
    assert kind.name == "tabular" and not kind.pretrained
    assert kind.primary_metric.name == "roc_auc" and kind.primary_metric.greater_is_better
    assert kind.input_schema["type"] == "object" and "probabilities" in kind.output_schema["properties"]


def test_params_have_working_defaults_and_reject_unknown_fields():
    params = TabularParams(target="y")
    assert (params.task, params.test_size, params.learning_rate, params.max_rounds) == ("auto", 0.2, 0.05, 2000)
    with pytest.raises(ValidationError):
        TabularParams(target="y", learning_rat=0.1)
    with pytest.raises(InvalidInput, match="test_size"):
        parse_params(TabularKind(), {"target": "y", "test_size": 5})


# --- quality on real data --------------------------------------------------------------------


@pytest.mark.slow
def test_vehicle_claims_fraud_beats_baseline(vehicle):
    metrics = vehicle.result.metrics
    assert vehicle.result.primary_metric.name == "roc_auc"
    assert metrics["roc_auc"] >= 0.75
    assert metrics["roc_auc"] >= metrics["baseline_roc_auc"] + 0.2
    assert metrics["pr_auc"] > 2 * metrics["baseline_pr_auc"]
    assert metrics["log_loss"] < metrics["baseline_log_loss"]
    assert metrics["f1"] > metrics["baseline_f1"]
    assert metrics["n_test"] == pytest.approx(0.2 * 12336, abs=2)
    assert metrics["best_iteration"] >= 1
    assert all(isinstance(value, int | float) for value in metrics.values())


@pytest.mark.slow
def test_row_identifier_is_dropped_automatically(vehicle):
    dropped = vehicle.result.summary["dropped_columns"]
    assert "identifier" in dropped["PolicyNumber"]
    assert "PolicyNumber" not in vehicle.result.summary["features"]
    assert any("PolicyNumber" in line for line in vehicle.progress.logs)
    assert vehicle.result.summary["features"]["Make"] == "categorical"
    assert vehicle.result.summary["features"]["Age"] == "numeric"


@pytest.mark.slow
def test_summary_reports_threshold_classes_and_importance(vehicle):
    summary = vehicle.result.summary
    assert summary["task"] == "binary" and summary["classes"] == [0, 1] and summary["positive_class"] == 1
    assert 0 < summary["threshold"] < 1
    importance = list(summary["feature_importance"].values())
    assert 0 < len(importance) <= 20
    assert importance == sorted(importance, reverse=True)
    assert sum(importance) <= 1 + 1e-6


@pytest.mark.slow
def test_progress_is_monotone_within_unit_interval(vehicle):
    fractions = vehicle.progress.fractions
    assert len(fractions) > 5 and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(0 <= f <= 1 for f in fractions)
    assert fractions == sorted(fractions)
    assert any("boosting round" in message for message in vehicle.progress.messages)


@pytest.mark.slow
def test_creditcard_fraud_roc_auc(creditcard):
    metrics = creditcard.result.metrics
    assert metrics["roc_auc"] >= 0.95
    assert metrics["pr_auc"] > metrics["baseline_pr_auc"] + 0.4


@pytest.mark.slow
def test_regression_on_age_beats_the_mean(vehicle_age):
    metrics = vehicle_age.result.metrics
    assert vehicle_age.result.summary["task"] == "regression"
    assert vehicle_age.result.primary_metric.name == "rmse"
    assert not vehicle_age.result.primary_metric.greater_is_better
    assert metrics["rmse"] < 0.5 * metrics["baseline_rmse"]
    assert metrics["r2"] > 0.5 and metrics["mae"] < metrics["baseline_mae"]
    assert "FraudFound_P" in vehicle_age.result.summary["dropped_columns"]


@pytest.mark.slow
def test_multiclass_on_vehicle_price_beats_priors(vehicle_price):
    metrics = vehicle_price.result.metrics
    assert vehicle_price.result.summary["task"] == "multiclass"
    assert len(vehicle_price.result.summary["classes"]) == 6
    assert vehicle_price.result.primary_metric.name == "log_loss"
    assert metrics["log_loss"] < metrics["baseline_log_loss"] - 0.1
    assert metrics["accuracy"] > metrics["baseline_accuracy"]
    assert metrics["roc_auc"] > 0.7


# --- artifacts and prediction ----------------------------------------------------------------


@pytest.mark.slow
def test_artifacts_are_text_not_pickle(vehicle):
    files = sorted(path.name for path in vehicle.workdir.iterdir())
    assert files == ["model.txt", "pipeline.json"]
    document = json.loads((vehicle.workdir / "pipeline.json").read_text())
    assert document["target"]["task"] == "binary" and document["threshold"] == vehicle.result.summary["threshold"]


@pytest.mark.slow
def test_round_trip_gives_the_same_predictions(vehicle):
    rows = _rows(VEHICLE, 200)
    first = vehicle.kind.load(vehicle.workdir).predict(rows)
    second = TabularKind().load(vehicle.workdir).predict(rows)
    assert first == second
    assert {out["label"] for out in first} <= {0, 1}
    for out in first:
        assert set(out) == {"label", "probabilities", "score"}
        assert out["probabilities"]["1"] == pytest.approx(out["score"])
        assert sum(out["probabilities"].values()) == pytest.approx(1.0)
        assert out["label"] == int(out["score"] >= vehicle.result.summary["threshold"])


@pytest.mark.slow
def test_saved_model_reproduces_the_reported_test_metrics(vehicle):
    table = pcsv.read_csv(VEHICLE)
    y = np.asarray(table.column("FraudFound_P").to_pylist())
    test = split_rows(len(y), 0.2, seed=0, strata=y).test  # the kind's split for these params
    outputs = vehicle.kind.load(vehicle.workdir).predict(table.take(pa.array(test)).to_pylist())
    score = np.array([out["score"] for out in outputs])
    assert roc_auc_score(y[test], score) == pytest.approx(vehicle.result.metrics["roc_auc"], abs=1e-12)
    accuracy = np.mean(np.array([out["label"] for out in outputs]) == y[test])
    assert accuracy == pytest.approx(vehicle.result.metrics["accuracy"], abs=1e-12)


@pytest.mark.slow
def test_dict_inputs_encode_like_the_training_table(creditcard, vehicle):
    for trained, csv in ((vehicle, VEHICLE), (creditcard, CREDITCARD)):
        predictor = trained.kind.load(trained.workdir)
        table = pcsv.read_csv(csv).slice(0, 300)
        typed = predictor.pipeline.transform(table.to_pandas())
        from_dicts = predictor.pipeline.transform(predictor.pipeline.frame_from_batch(table.to_pylist()), True)
        np.testing.assert_array_equal(typed, from_dicts)


@pytest.mark.slow
def test_unseen_categories_and_missing_fields_are_missing_values(vehicle):
    predictor = vehicle.kind.load(vehicle.workdir)
    row = _rows(VEHICLE, 1)[0]
    outputs = predictor.predict(
        [
            {**row, "Make": "Tesla", "BasePolicy": None, "unknown_field": [1, 2]},
            {"Age": "34", "Sex": "Female"},
            {},
        ]
    )
    assert len(outputs) == 3
    for out in outputs:
        assert 0 <= out["score"] <= 1 and out["label"] in (0, 1)
    assert predictor.predict([]) == []


@pytest.mark.slow
def test_regression_predictions_are_values(vehicle_age):
    outputs = vehicle_age.kind.load(vehicle_age.workdir).predict(_rows(VEHICLE, 5))
    assert all(set(out) == {"value"} and isinstance(out["value"], float) for out in outputs)


@pytest.mark.slow
def test_multiclass_labels_keep_their_type(vehicle_price):
    outputs = vehicle_price.kind.load(vehicle_price.workdir).predict(_rows(VEHICLE, 5))
    classes = vehicle_price.result.summary["classes"]
    for out in outputs:
        assert out["label"] in classes and "score" not in out
        assert set(out["probabilities"]) == set(classes)
        assert out["label"] == max(out["probabilities"], key=out["probabilities"].get)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        ([{"Age": "abc"}], r"row 0: field 'Age'"),
        ([{"Age": 30}, {"Age": 31, "Deductible": "a lot"}], r"row 1: field 'Deductible'"),
        ([{"Age": 30}, "not a row"], r"row 1"),
        ({"Age": 30}, r"list"),
    ],
)
def test_bad_batch_names_the_row_and_field(vehicle, batch, expected):
    with pytest.raises(InvalidInput, match=expected):
        vehicle.kind.load(vehicle.workdir).predict(batch)


@pytest.mark.slow
def test_evaluate_scores_a_labelled_dataset(creditcard):
    predictor = creditcard.kind.load(creditcard.workdir)
    metrics = creditcard.kind.evaluate(predictor, creditcard.data, creditcard.params)
    assert metrics["n_rows"] == 1378 and metrics["n_unknown_label"] == 0
    assert metrics["roc_auc"] >= 0.95
    assert {"accuracy", "f1", "log_loss", "pr_auc"} <= set(metrics)


# --- validation and errors -------------------------------------------------------------------


def _columns(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "int64", "numeric") for name in names)


def test_validate_names_a_missing_column_and_lists_the_others():
    kind = TabularKind()
    with pytest.raises(InvalidInput, match=r"'label'.*available: 'a', 'b'"):
        kind.validate(TabularParams(target="label"), _columns("a", "b"))
    with pytest.raises(InvalidInput, match="excluded column 'zz'"):
        kind.validate(TabularParams(target="a", exclude=["zz"]), _columns("a", "b"))
    with pytest.raises(InvalidInput, match="time column 'when'"):
        kind.validate(TabularParams(target="a", time_column="when"), _columns("a", "b"))
    with pytest.raises(InvalidInput, match="only column"):
        kind.validate(TabularParams(target="a"), _columns("a"))
    kind.validate(TabularParams(target="a"), _columns("a", "b"))


def test_single_class_target_is_invalid_input(tmp_path):
    table = pa.table({"x": np.arange(50.0), "y": ["yes"] * 50})
    with pytest.raises(InvalidInput, match="single class"):
        TabularKind().train(training_data(table, tmp_path), TabularParams(target="y"), FakeProgress(), tmp_path)


def test_string_target_with_gaps_is_binary_and_keeps_its_labels(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.normal(size=200)
    y = [None if i % 20 == 0 else ("yes" if value > 0 else "no") for i, value in enumerate(x)]
    data = training_data(pa.table({"x": x, "y": y}), tmp_path / "d")
    progress = FakeProgress()
    result = TabularKind().train(data, TabularParams(target="y"), progress, tmp_path / "m")
    assert result.summary["task"] == "binary" and result.summary["positive_class"] == "yes"
    assert any("10 rows with a missing target" in line for line in progress.logs)
    assert result.metrics["n_train"] + result.metrics["n_valid"] + result.metrics["n_test"] == 190
    [out] = TabularKind().load(tmp_path / "m").predict([{"x": 2.5}])
    assert out["label"] == "yes" and set(out["probabilities"]) == {"no", "yes"}
    flipped = TabularKind().train(data, TabularParams(target="y", positive_class="no"), progress, tmp_path / "n")
    assert flipped.summary["positive_class"] == "no"
    with pytest.raises(InvalidInput, match="two classes"):
        TabularKind().train(data, TabularParams(target="x", task="binary"), progress, tmp_path / "o")


def test_cancellation_raised_by_progress_propagates(tmp_path):
    example = TabularKind.example()
    progress = FakeProgress(cancel_after=3)
    with pytest.raises(Cancelled):
        TabularKind().train(training_data(example.train, tmp_path), TabularParams(target="y"), progress, tmp_path / "m")


def test_feedback_rows_turn_labels_into_training_rows():
    kind = TabularKind()
    example = kind.example()
    rows = kind.feedback_rows(TabularParams(target="y"), example.feedback)
    assert rows == [
        {"x1": 1.0, "x2": 2.0, "colour": "blue", "flag": False, "y": 0},
        {"x1": -2.0, "colour": "red", "y": 0},
    ]
    regression = kind.feedback_rows(
        TabularParams(target="amount", task="regression"),
        [FeedbackRecord({"a": 1, "amount": 3.0}, {"value": 3.0}, {"outcome": 4.5, "label": ""})],
    )
    assert regression == [{"a": 1, "amount": 4.5}]


# --- the example and smaller behaviours --------------------------------------------------------


def test_example_trains_predicts_and_rejects_its_bad_inputs(tmp_path):
    kind = TabularKind()
    example = kind.example()
    assert example == kind.example()  # deterministic
    params = parse_params(kind, example.params)
    progress = FakeProgress()
    result = kind.train(training_data(example.train, tmp_path / "data"), params, progress, tmp_path / "m")
    assert result.metrics["roc_auc"] > 0.7
    assert "row_id" in result.summary["dropped_columns"]
    predictor = kind.load(tmp_path / "m")
    outputs = predictor.predict(example.batch)
    assert len(outputs) == len(example.batch) and all(out["label"] in (0, 1) for out in outputs)
    with pytest.raises(InvalidInput, match="x1"):
        predictor.predict(example.bad_batch)
    with pytest.raises(InvalidInput):
        parse_params(kind, example.bad_params)


def test_time_column_holds_out_the_latest_rows(tmp_path):
    rng = np.random.RandomState(1)
    n = 300
    when = np.datetime64("2024-01-01T00:00") + rng.permutation(n).astype("timedelta64[h]") * 7
    x = rng.normal(size=n)
    table = pa.table(
        {
            "when": pa.array(when.astype("datetime64[s]")),
            "opened": pa.array([str(day)[:10] for day in when - np.timedelta64(30, "D")]),
            "x": x,
            "y": (x + rng.normal(scale=0.5, size=n) > 0).astype(int),
        }
    )
    params = TabularParams(target="y", time_column="when")
    result = TabularKind().train(training_data(table, tmp_path / "d"), params, FakeProgress(), tmp_path / "m")
    assert result.metrics["n_test"] == 60
    document = json.loads((tmp_path / "m" / "pipeline.json").read_text())
    names = document["feature_names"]
    assert "when.epoch" not in names and "when.year" not in names and "when.month" in names
    assert "opened.epoch" in names  # ISO date strings become datetime features
    predictor = TabularKind().load(tmp_path / "m")
    assert predictor.predict([{"x": 1.0, "opened": "2024-03-01", "when": "2024-05-01T10:00:00Z"}])
    with pytest.raises(InvalidInput, match="field 'opened'"):
        predictor.predict([{"opened": "yesterday"}])


def test_split_is_stratified_and_deterministic():
    strata = np.array([0] * 90 + [1] * 10)
    split = split_rows(100, 0.2, seed=3, strata=strata)
    again = split_rows(100, 0.2, seed=3, strata=strata)
    assert all(np.array_equal(a, b) for a, b in zip(split.__dict__.values(), again.__dict__.values(), strict=True))
    assert strata[split.test].sum() == 2 and strata[split.valid].sum() >= 1
    assert sorted(np.concatenate([split.train, split.valid, split.test]).tolist()) == list(range(100))


def test_pipeline_caps_levels_and_keeps_booleans_and_missing():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "flag": [True, False] * 30,
            "level": [f"l{i % 7}" for i in range(60)],
            "constant": ["same"] * 60,
            "code": [f"c{i}" for i in range(60)],
        }
    )
    pipeline = FeaturePipeline.fit(frame, {}, {})
    assert [spec.type for spec in pipeline.columns] == ["boolean", "categorical"]
    assert set(pipeline.dropped) == {"constant", "code"}
    matrix = pipeline.transform(pipeline.frame_from_batch([{"flag": "yes", "level": "l3"}, {"level": "new"}]))
    assert matrix[0, 0] == 1.0 and not math.isnan(matrix[0, 1])
    assert math.isnan(matrix[1, 0]) and math.isnan(matrix[1, 1])
