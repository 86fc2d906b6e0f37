"""The placement kind: it finds better offers than uniform and the best fixed offer, logs honest propensities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import FeedbackRecord, Kind, TrainingData, parse_params
from aiflywheel.kinds.placement import PlacementKind, PlacementParams
from aiflywheel.kinds.placement.example import SLOTS, click_probability, simulate
from aiflywheel.testing import check_kind


class Progress:
    def __init__(self):
        self.fractions: list[float] = []

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fractions.append(fraction)

    def log(self, message: str) -> None:
        pass


def training_data(table: pa.Table, folder: Path) -> TrainingData:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "upload.parquet")
    (folder / "ingest").mkdir()
    ingested = ingest(folder / "upload.parquet", folder / "ingest")
    return TrainingData(ingested.path, ingested.columns)


def fit(folder: Path, table: pa.Table, **params):
    kind = PlacementKind()
    data = training_data(table, folder / "data")
    parsed = parse_params(kind, params)
    result = kind.train(data, parsed, Progress(), folder / "model")
    return kind, data, parsed, result, kind.load(folder / "model")


@pytest.fixture(scope="module", params=["thompson", "linucb"])
def shop(request, tmp_path_factory):
    return fit(tmp_path_factory.mktemp(request.param), simulate(4000, seed=5), policy=request.param)


def test_declares_the_kind_protocol():
    kind = PlacementKind()
    assert isinstance(kind, Kind) and kind.name == "placement" and not kind.pretrained
    assert kind.primary_metric.name == "policy_value" and kind.primary_metric.greater_is_better
    assert PlacementParams().policy == "thompson"
    with pytest.raises(ValidationError):
        PlacementParams(polcy="linucb")


def test_conforms(tmp_path):
    metrics = check_kind(PlacementKind(), workdir=tmp_path)
    assert metrics["policy_value"] > metrics["uniform_value"]


def test_the_replay_beats_uniform_and_the_best_fixed_offer(shop):
    _, _, _, result, _ = shop
    metrics = result.metrics
    assert metrics["n_replayed"] == 1200
    assert metrics["lift_vs_uniform"] > 0.3, metrics
    assert metrics["lift_vs_best_fixed"] > 0.1, metrics
    assert abs(metrics["uniform_value"] - metrics["logged_value"]) < 1e-9, "the log was uniform: IPS recovers it"
    assert metrics["baseline_policy_value"] == metrics["uniform_value"]


def test_decisions_approach_the_best_offer_of_the_true_click_model(shop):
    _, _, _, _, predictor = shop
    rng = np.random.default_rng(1)
    chosen_value, best_value, uniform_value = [], [], []
    for _ in range(300):
        slot = "home_top" if rng.random() < 0.6 else "checkout"
        mobile, basket, returning = bool(rng.random() < 0.5), float(rng.gamma(2.0, 30.0)), bool(rng.random() < 0.4)
        context = {"device": "mobile" if mobile else "desktop", "basket": basket, "returning": returning}
        (answer,) = predictor.predict([{"slot": slot, "context": context}])
        truth = {offer: click_probability(slot, offer, mobile, basket, returning) for offer in SLOTS[slot]}
        assert answer["offer"] in truth and 0 < answer["propensity"] <= 1
        chosen_value.append(truth[answer["offer"]])
        best_value.append(max(truth.values()))
        uniform_value.append(np.mean(list(truth.values())))
    assert np.mean(chosen_value) > 0.85 * np.mean(best_value), (np.mean(chosen_value), np.mean(best_value))
    assert np.mean(chosen_value) > 1.3 * np.mean(uniform_value)


def test_propensities_match_how_often_a_decision_is_made(shop):
    _, _, params, _, predictor = shop
    request = {"slot": "home_top", "context": {"device": "desktop", "basket": 70.0, "returning": True}}
    answers = predictor.predict([request] * 400)
    shares = {offer: np.mean([a["offer"] == offer for a in answers]) for offer in SLOTS["home_top"]}
    for answer in answers[:20]:
        assert answer["propensity"] == pytest.approx(shares[answer["offer"]], abs=0.12)
    if params.policy == "linucb":
        assert min(shares.values()) > 0, "epsilon keeps every candidate possible"


def test_new_offers_and_slots_are_explored_not_refused(shop):
    _, _, _, _, predictor = shop
    answers = predictor.predict([{"slot": "new_banner", "offers": ["gift", "brand_new"]}] * 200)
    assert {a["offer"] for a in answers} == {"gift", "brand_new"}


def test_feedback_becomes_logged_decisions(shop):
    kind, data, params, _, _ = shop
    records = [
        FeedbackRecord(
            input={"slot": "checkout", "offers": ["bundle", "gift"], "context": {"device": "mobile", "basket": 12}},
            output={"offer": "gift", "propensity": 0.8, "expected_reward": 0.1},
            feedback={"reward": 1.0},
        ),
        FeedbackRecord(
            input={"slot": "checkout"}, output={"offer": "bundle", "propensity": 0.5}, feedback={"label": 0}
        ),
        FeedbackRecord(input={"slot": "checkout"}, output={"offer": "bundle"}, feedback={"label": "clicked?"}),
    ]
    rows = kind.feedback_rows(params, records)
    assert rows[0] == {
        "device": "mobile",
        "basket": 12,
        "slot": "checkout",
        "offer": "gift",
        "reward": 1.0,
        "propensity": 0.8,
        "candidates": "bundle|gift",
    }
    assert rows[1]["reward"] == 0.0 and len(rows) == 2
    timed = FeedbackRecord(
        {"slot": "checkout"}, {"offer": "gift"}, {"reward": 2.5, "created_at": "2026-11-24T10:00:00+00:00"}
    )
    assert kind.feedback_rows(params, [timed])[0]["timestamp"] == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert set(rows[0]) <= set(data.column_names())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"context": {}}, "slot must be a non-empty string"),
        ({"slot": "nowhere"}, "slot 'nowhere' was never seen in training; give its offers"),
        ({"slot": "home_top", "offers": []}, "offers must be a non-empty list"),
        ({"slot": "home_top", "context": {"basket": "lots"}}, "context.basket must be a number"),
        ({"slot": "home_top", "context": [1]}, "context must be an object"),
        ({"slot": "home_top", "where": "x"}, "unknown field"),
    ],
)
def test_bad_requests_are_named(shop, row, message):
    with pytest.raises(InvalidInput, match=message):
        shop[4].predict([row])


def test_bad_datasets_are_named(tmp_path):
    kind = PlacementKind()
    table = simulate(100, seed=1)
    data = training_data(table, tmp_path / "ok")
    with pytest.raises(InvalidInput, match="reward_column 'clicked' is not in the dataset"):
        kind.validate(parse_params(kind, {"reward_column": "clicked"}), data.columns)
    with pytest.raises(InvalidInput, match="reward column 'device' must hold numbers"):
        kind.validate(parse_params(kind, {"reward_column": "device"}), data.columns)
    broken = table.set_column(3, "propensity", pa.array([1.5] * table.num_rows))
    with pytest.raises(InvalidInput, match=r"propensity column 'propensity' must lie in \(0, 1\]"):
        kind.train(training_data(broken, tmp_path / "bad"), parse_params(kind, {}), Progress(), tmp_path / "m")
    with pytest.raises(InvalidInput, match="training needs at least"):
        kind.train(training_data(table.slice(0, 5), tmp_path / "few"), parse_params(kind, {}), Progress(), tmp_path)
