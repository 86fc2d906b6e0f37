"""The fraud kind on synthetic card events whose fraud shows in behaviour: entity features, calibration,
explanations, rules, thresholds and bad events."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import TrainingData, parse_params
from aiflywheel.kinds.fraud import FraudKind
from aiflywheel.kinds.fraud.catboost_model import categories
from aiflywheel.kinds.fraud.example import PARAMS, make_events
from aiflywheel.kinds.fraud.features import numbers_in_levels
from aiflywheel.kinds.fraud.history import History, observation
from aiflywheel.kinds.fraud.model import rates_at, threshold_for_fpr, threshold_for_precision
from aiflywheel.testing import check_kind

pytestmark = pytest.mark.slow


class Quiet:
    def __call__(self, fraction: float, message: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


@pytest.fixture(scope="session")
def events():
    return make_events(customers=16, days=30)


@pytest.fixture(scope="session")
def data(events, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fraud-data")
    pq.write_table(pa.Table.from_pandas(events, preserve_index=False), folder / "events.parquet")
    ingested = ingest(folder / "events.parquet", folder / "ingest")
    return TrainingData(ingested.path, ingested.columns)


def trained(data, tmp_path_factory, **overrides):
    kind = FraudKind()
    params = parse_params(kind, {**PARAMS, **overrides})
    workdir = tmp_path_factory.mktemp("fraud-model")
    result = kind.train(data, params, Quiet(), workdir)
    return result, kind.load(workdir), workdir


@pytest.fixture(scope="session")
def detector(data, tmp_path_factory):
    return trained(data, tmp_path_factory)


def test_the_kind_passes_the_conformance_suite():
    metrics = check_kind(FraudKind())
    assert metrics["pr_auc"] > metrics["baseline_pr_auc"]


def test_behaviour_features_catch_what_single_events_cannot(detector, data, tmp_path_factory):
    with_history, _, _ = detector
    alone, _, _ = trained(data, tmp_path_factory, entity_column=None, amount_column=None)
    # The held-out events are the latest (time-aware split), the same in both runs.
    assert with_history.metrics["n_test"] == alone.metrics["n_test"]
    assert with_history.metrics["pr_auc"] > 0.9
    assert with_history.metrics["pr_auc"] > alone.metrics["pr_auc"] + 0.2
    names = with_history.summary["features"]
    assert {"entity.count_1h", "entity.amount_1d", "entity.seconds_since_last", "entity.new_country"} <= set(names)
    assert "customer" not in names  # the id itself is never a feature


def test_scores_are_calibrated_probabilities(detector, events):
    result, _, _ = detector
    assert result.metrics["brier"] < 0.05
    # Platt scaling on the validation events: the mean score of the held-out events is near their fraud rate.
    assert 0 < result.metrics["baseline_pr_auc"] < 0.3


def test_a_burst_raises_the_score_and_the_explanation_names_the_behaviour(detector):
    _, predictor, _ = detector
    base = {"customer": "c5", "amount": 60.0, "country": "NL", "email": "user5@post.fr", "channel": "web"}
    quiet = predictor.predict([{**base, "ts": "2026-03-10T09:00:00", "ip": "10.5.0.9"}])[0]
    burst = [{**base, "ts": f"2026-03-12T22:0{minute}:00", "country": "FR", "ip": "10.2.0.2"} for minute in (0, 4, 8)]
    answers = predictor.predict(burst)
    assert answers[2]["score"] > 0.5 > quiet["score"]
    assert answers[2]["outcome"] in ("review", "block") and answers[2]["rules"]
    assert quiet["outcome"] == "approve" and quiet["rules"] == []
    variables = [item["variable"] for item in answers[2]["explanations"]]
    assert any(name.startswith("customer.") for name in variables), variables
    assert set(answers[2]) == {"score", "outcome", "rules", "explanations"}


def test_explanations_follow_the_learners_own_paths_and_add_up_to_the_blended_score(detector):
    _, predictor, _ = detector
    assert predictor.catboost is not None  # LightGBM and CatBoost, blended, by default
    base = {"customer": "c7", "amount": 33.0, "country": "NL", "ip": "10.7.0.1"}
    events = [{**base, "ts": "2026-03-20T10:00:00"}, {**base, "ts": "2026-03-20T10:03:00", "country": "FR"}]
    checked = predictor.detector.check(events)
    features = predictor.detector.features(checked, predictor.fresh_history(), record=False)
    pool = predictor._catboost_input.pool(features)
    catboost_raw = predictor.catboost.predict(pool, prediction_type="RawFormulaVal")
    raw = (predictor.booster.predict(features, raw_score=True) + catboost_raw) / 2  # each learner's own score
    predictor.detector.explanations = 50
    try:
        answers = predictor.score(checked, predictor.fresh_history(), record=False)
    finally:
        predictor.detector.explanations = 5
    # Each learner's own Shapley values (TreeSHAP), blended, for comparison.
    lightgbm_shapley = predictor.booster.predict(features, pred_contrib=True)[:, :-1]
    catboost_shapley = predictor.catboost.get_feature_importance(pool, type="ShapValues")[:, :-1]
    shapley = (lightgbm_shapley + catboost_shapley[:, np.argsort(predictor._catboost_input.flat_to_feature)]) / 2
    expected = (predictor._contributions.expected + predictor._catboost_contributions.expected) / 2
    for answer, log_odds, reference in zip(answers, raw, shapley, strict=True):
        ours = {item["variable"]: item["contribution"] for item in answer["explanations"]}
        assert sum(ours.values()) + expected == pytest.approx(log_odds, abs=1e-4)
        assert predictor.detector.calibrator(log_odds) == pytest.approx(answer["score"], abs=1e-6)
        magnitudes = [abs(value) for value in ours.values()]
        assert magnitudes == sorted(magnitudes, reverse=True)
        per_variable = dict.fromkeys(ours, 0.0)
        for group, value in zip(predictor._group_of, reference, strict=True):
            name = predictor._groups[group]
            if name in per_variable:
                per_variable[name] += value
        # Path contributions and Shapley values differ in how they share credit, not in what matters.
        assert np.corrcoef(list(ours.values()), list(per_variable.values()))[0, 1] > 0.8


def test_history_sees_only_earlier_events_and_records_an_event_once():
    history = History([3600, 86400], ["country"], has_amount=True)

    def obs(t, country="NL", amount=10.0):
        return observation({"c": "a", "t": t, "x": amount, "country": country}, "c", "t", "x", ["country"])

    rows = history.features([obs(100.0), obs(100.0), obs(200.0, "DE", 5.0)])
    # The first two share an instant: neither sees the other. The third sees both.
    assert rows[0][0] == rows[1][0] == 0
    assert list(rows[2][:4]) == [1.0, 1.0, 10.0, 10.0]  # one distinct event (the duplicate recorded once)
    assert rows[2][4] == 100.0 and rows[2][5] == 1.0  # 100 s since the last; DE is new
    again = history.features([obs(200.0, "DE", 5.0)])
    np.testing.assert_array_equal(again[0], rows[2])  # re-scoring the same event changes nothing
    late = history.features([obs(150.0, "DE")])  # out of order: only the event at 100 s is earlier
    assert late[0][0] == 1.0 and late[0][5] == 1.0
    assert history.features([obs(5000.0, "DE")])[0][5] == 0.0  # seen since


def test_training_and_scoring_compute_the_same_behaviour_features(events):
    rows = events.assign(ts=(pd.to_datetime(events["ts"]) - pd.Timestamp("1970-01-01")).dt.total_seconds())
    rows = rows.to_dict("records")
    tracked = ["country"]

    def observations(batch):
        return [observation(r, "customer", "ts", "amount", tracked) for r in batch]

    at_once = History([3600, 86400], tracked, True).features(observations(rows))
    one_by_one = History([3600, 86400], tracked, True)
    streamed = np.vstack([one_by_one.features(observations([row])) for row in rows])
    np.testing.assert_array_equal(np.nan_to_num(at_once, nan=-1), np.nan_to_num(streamed, nan=-1))


def test_the_shipped_history_continues_after_training(detector):
    _, predictor, workdir = detector
    assert (workdir / "history.json").exists() and len(predictor.fresh_history()) == 16
    event = {"customer": "c3", "ts": "2026-01-31T23:59:00", "amount": 20.0}
    checked = predictor.detector.check([event])
    features = predictor.detector.features(checked, predictor.fresh_history(), record=False)
    names = predictor.detector.encoder.feature_names + predictor.fresh_history().feature_names
    assert features[0][names.index("entity.count_30d")] > 10  # c3's month of training events


@pytest.mark.parametrize(
    "event, words",
    [
        ({"ts": "2026-02-01T10:00:00", "amount": 5}, "required variable 'customer'"),
        ({"customer": "c1", "amount": 5}, "required variable 'ts'"),
        ({"customer": "c1", "ts": "2026-02-01T10:00:00", "amount": "a lot"}, "variable 'amount' (numeric)"),
        ({"customer": "c1", "ts": "yesterday-ish"}, "variable 'ts' (timestamp)"),
        ({"customer": "c1", "ts": "2026-02-01T10:00:00", "ip": "999.1.1.1"}, "variable 'ip' (ip)"),
        ({"customer": "c1", "ts": "2026-02-01T10:00:00", "email": "nobody"}, "variable 'email' (email)"),
        ({"customer": "c1", "ts": "2026-02-01T10:00:00", "country": ["NL"]}, "variable 'country'"),
        ({"customer": "c1", "ts": "2026-02-01T10:00:00", "event_type": "login"}, "unknown event type 'login'"),
        ("not an event", "expected an object"),
    ],
)
def test_bad_events_are_refused_naming_the_variable_and_record_nothing(detector, event, words):
    _, predictor, _ = detector
    before = predictor.history.to_dict()
    good = {"customer": "c1", "ts": "2026-02-01T09:00:00", "amount": 1.0}
    with pytest.raises(InvalidInput) as caught:
        predictor.predict([good, event])
    assert words in str(caught.value) and "event 1" in str(caught.value)
    assert predictor.history.to_dict() == before


def test_rules_decide_in_order_over_variables_and_score_with_lightgbm_alone(data, tmp_path_factory):
    rules = [
        {"name": "huge_abroad", "expression": 'amount > 500 and country != "NL"', "outcome": "block"},
        {"name": "model", "expression": "score >= 0.5", "outcome": "review"},
        {"name": "web", "expression": 'channel == "web"', "outcome": "review"},
    ]
    result, predictor, workdir = trained(data, tmp_path_factory, rules=rules, explanations=0, learners="lightgbm")
    assert predictor.catboost is None and not (workdir / "catboost.cbm").exists()
    assert "catboost_rounds" not in result.metrics
    assert [rule["name"] for rule in result.summary["rules"]] == ["huge_abroad", "model", "web"]
    base = {"customer": "c9", "ts": "2026-03-01T10:00:00", "ip": "10.9.0.1", "email": "user9@mail.nl"}
    huge = predictor.predict([{**base, "amount": 900.0, "country": "DE", "channel": "web"}])[0]
    assert huge["outcome"] == "block" and huge["rules"][0] == "huge_abroad" and "web" in huge["rules"]
    assert huge["explanations"] == []
    app = predictor.predict([{**base, "ts": "2026-03-03T10:00:00", "amount": 30.0, "country": "NL", "channel": "app"}])
    assert app[0] == {"score": app[0]["score"], "outcome": "approve", "rules": [], "explanations": []}
    unknown = predictor.predict(
        [{**base, "ts": "2026-03-05T10:00:00", "country": "DE"}]
    )  # no amount: rule 1 can't hold
    assert "huge_abroad" not in unknown[0]["rules"]


@pytest.mark.parametrize(
    "rule, words",
    [
        ({"name": "typo", "expression": "amout > 5", "outcome": "block"}, "unknown variable 'amout'"),
        ({"name": "types", "expression": "country > 5", "outcome": "block"}, "rule 'types'"),
        ({"name": "syntax", "expression": "score >", "outcome": "block"}, "rule 'syntax'"),
    ],
)
def test_a_bad_rule_is_refused_before_training(data, tmp_path, rule, words):
    kind = FraudKind()
    with pytest.raises(InvalidInput, match=words):
        kind.train(data, parse_params(kind, {**PARAMS, "rules": [rule]}), Quiet(), tmp_path)


def test_bad_params_are_refused_naming_the_field(data):
    kind = FraudKind()
    with pytest.raises(InvalidInput, match="outcome"):
        parse_params(kind, {**PARAMS, "rules": [{"name": "r", "expression": "score > 1", "outcome": "maybe"}]})
    with pytest.raises(InvalidInput, match="entity_column needs time_column"):
        kind.validate(parse_params(kind, {"target": "is_fraud", "entity_column": "customer"}), data.columns)
    with pytest.raises(InvalidInput, match="amount column 'price'"):
        kind.validate(parse_params(kind, {**PARAMS, "amount_column": "price"}), data.columns)


def test_thresholds_meet_the_target_rate_and_show_the_catch_rate(detector):
    result, _, _ = detector
    block = result.summary["thresholds"]["block"]
    assert block["validation"]["false_positive_rate"] <= 0.01
    assert 0 <= block["test"]["catch_rate"] <= 1 and block["validation"]["threshold"] > 0
    review = result.summary["thresholds"]["review"]
    assert review["validation"]["threshold"] <= block["validation"]["threshold"]
    y = np.array([0] * 100 + [1] * 10)
    score = np.concatenate([np.linspace(0, 0.5, 100), np.linspace(0.4, 1.0, 10)])
    threshold = threshold_for_fpr(y, score, 0.05)
    assert rates_at(y, score, threshold)["false_positive_rate"] <= 0.05
    assert rates_at(y, score, np.nextafter(threshold, -1))["false_positive_rate"] > 0.05
    precise = threshold_for_precision(y, score, 0.9)
    assert rates_at(y, score, precise)["precision"] >= 0.9


def test_categorical_levels_that_name_numbers_become_numbers():
    bands = numbers_in_levels(["none", "1 year", "2 to 4", "more than 7", "5 to 7"])
    assert bands["none"] == 0 and bands["2 to 4"] == 3 and bands["more than 7"] > bands["5 to 7"]
    assert numbers_in_levels(["Honda", "Toyota", "BMW 3"]) == {}


def test_feedback_labels_become_training_rows(detector):
    example = FraudKind.example()
    rows = FraudKind().feedback_rows(FraudKind.Params(**PARAMS), example.feedback)
    assert [row["is_fraud"] for row in rows] == [0, 1]
    assert "event_type" not in rows[1]
    assert not math.isnan(rows[0]["amount"])


def test_catboost_takes_few_valued_numeric_variables_as_categories():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.integers(0, 5, 400), rng.integers(1, 4, 400).astype(float), rng.normal(size=400)])
    x[::7, 1] = np.nan  # missing values are not a level
    assert categories(x, categorical=[0], numeric=[1, 2]) == [0, 1]  # a rating with 3 values is; an amount is not
    assert categories(x[:40], categorical=[0], numeric=[1, 2]) == [0]  # too few events for 3 levels of 20
