"""The recommender kind: quality on a MovieLens slice, requests, filters, cold starts, real-time events, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import ValidationError

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import FeedbackRecord, Kind, TrainingData, parse_params
from aiflywheel.kinds.recommender import RecommenderKind, RecommenderParams
from aiflywheel.testing import check_kind

ML100K = Path(__file__).resolve().parents[3] / "shared" / "data" / "movielens" / "ml-100k" / "ratings_train.tsv"
SLICE_USERS = 400
HELD = 5


class Progress:
    def __init__(self):
        self.fractions: list[float] = []
        self.logs: list[str] = []

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fractions.append(fraction)

    def log(self, message: str) -> None:
        self.logs.append(message)


def training_data(table: pa.Table, folder: Path) -> TrainingData:
    """A dataset version as the kernel hands it over: ingested Parquet and its inferred schema."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "upload.parquet")
    (folder / "ingest").mkdir()
    ingested = ingest(folder / "upload.parquet", folder / "ingest")
    return TrainingData(ingested.path, ingested.columns)


class Trained:
    def __init__(self, kind, data, params, progress, workdir, result):
        self.kind, self.data, self.params = kind, data, params
        self.progress, self.workdir, self.result = progress, workdir, result
        self.predictor = kind.load(workdir)


def train(folder: Path, table: pa.Table, **params) -> Trained:
    kind = RecommenderKind()
    data = training_data(table, folder / "data")
    parsed = parse_params(kind, params)
    progress = Progress()
    result = kind.train(data, parsed, progress, folder / "model")
    return Trained(kind, data, parsed, progress, folder / "model", result)


def movielens_slice() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first 400 users of ML-100K's training file; each one's latest 5 ratings held out."""
    frame = pd.read_csv(ML100K, sep="\t", names=["user_id", "item_id", "rating", "timestamp"])
    frame = frame[frame["user_id"] <= SLICE_USERS].sort_values(["user_id", "timestamp"], kind="stable")
    latest = frame.groupby("user_id").cumcount(ascending=False) < HELD
    return frame[~latest], frame[latest]


@pytest.fixture(scope="module")
def movies(tmp_path_factory):
    train_part, test_part = movielens_slice()
    trained = train(tmp_path_factory.mktemp("movies"), pa.Table.from_pandas(train_part, preserve_index=False))
    test = training_data(pa.Table.from_pandas(test_part, preserve_index=False), tmp_path_factory.mktemp("held"))
    return trained, test, train_part


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Trained:
    example = RecommenderKind.example()
    return train(tmp_path_factory.mktemp("shop"), example.train, **example.params)


def items(output: dict) -> list[str]:
    return [entry["item_id"] for entry in output["items"]]


# --- the protocol ----------------------------------------------------------------------------


def test_declares_the_kind_protocol():
    kind = RecommenderKind()
    assert isinstance(kind, Kind)
    assert kind.name == "recommender" and not kind.pretrained
    assert kind.primary_metric.name == "ndcg@10" and kind.primary_metric.greater_is_better
    assert "user_id" in kind.input_schema["properties"] and "items" in kind.output_schema["properties"]


def test_conforms(tmp_path):
    metrics = check_kind(RecommenderKind(), workdir=tmp_path)
    assert metrics["ndcg@10"] > metrics["baseline_ndcg@10"]


def test_params_have_working_defaults_and_reject_unknown_fields():
    params = RecommenderParams()
    assert (params.user_column, params.item_column, params.algorithm, params.validation_items) == (
        "user_id",
        "item_id",
        "auto",
        5,
    )
    assert params.column("time_column", ["user_id", "item_id", "timestamp"]) == "timestamp"
    assert params.column("time_column", ["user_id", "item_id"]) is None
    assert params.texts(["title", "price"]) == ["title"]
    with pytest.raises(ValidationError):
        RecommenderParams(algoritm="als")
    with pytest.raises(InvalidInput, match="validation_items"):
        parse_params(RecommenderKind(), {"validation_items": 0})


def test_params_survive_the_kernels_round_trip(tmp_path):
    """The kernel stores every field and parses them again: usual names must stay optional."""
    kind = RecommenderKind()
    stored = parse_params(kind, {}).model_dump()
    bare = training_data(pa.table({"user_id": ["a", "b"], "item_id": ["x", "y"]}), tmp_path)
    kind.validate(parse_params(kind, stored), bare.columns)


# --- quality on real data --------------------------------------------------------------------


def test_movielens_beats_popularity_on_the_kinds_own_test_split(movies):
    trained, _, _ = movies
    metrics = trained.result.metrics
    assert metrics["n_eval_users"] > 300
    assert metrics["ndcg@10"] > 1.5 * metrics["baseline_ndcg@10"], metrics
    assert metrics["recall@10"] > metrics["baseline_recall@10"]
    assert metrics["coverage@10"] > metrics["baseline_coverage@10"]
    assert 0 < metrics["map@10"] <= metrics["recall@10"]
    assert trained.result.summary["algorithm"] in ("item_item", "ease", "als", "bpr")
    tried = [entry["candidate"] for entry in trained.result.summary["validation"]]
    assert len(tried) >= 6 and len(set(tried)) == len(tried), "every scored candidate is reported once"
    assert {"popularity", "ease"} <= {name.split("(")[0] for name in tried}
    assert "search='full'" in trained.result.summary["skipped"], "EASE covers the slice: the wide models wait"


def test_movielens_held_out_ratings_are_found(movies):
    trained, test, train_part = movies
    metrics = trained.kind.evaluate(trained.predictor, test, trained.params)
    counts = train_part["item_id"].value_counts()
    popular = [str(item) for item in counts.index[:30]]
    baseline = trained.kind.evaluate(_popularity_only(trained, popular), test, trained.params)
    assert metrics["n_eval_users"] == SLICE_USERS
    assert metrics["ndcg@10"] > 0.12 and metrics["ndcg@10"] > 1.5 * baseline["ndcg@10"], (metrics, baseline)


def _popularity_only(trained: Trained, popular: list[str]):
    """A stand-in predictor answering every user with the most-rated unseen items, for the baseline."""
    seen = {}
    frame = trained.data.to_pandas()
    for user, group in frame.groupby("user_id"):
        seen[str(user)] = set(group["item_id"].astype(str))

    class Popular:
        _item_index = trained.predictor._item_index
        item_ids = trained.predictor.item_ids

        def predict(self, batch):
            out = []
            for row in batch:
                chosen = [item for item in popular if item not in seen.get(row["user_id"], ())][:10]
                out.append({"items": [{"item_id": item, "score": 0.0} for item in chosen]})
            return out

    return Popular()


def test_movielens_answers_follow_the_contract(movies):
    trained, _, _ = movies
    (top,) = trained.predictor.predict([{"user_id": "1", "n": 10}])
    assert len(top["items"]) == 10
    scores = [entry["score"] for entry in top["items"]]
    assert scores == sorted(scores, reverse=True)
    seen = set(trained.data.to_pandas().query("user_id == 1")["item_id"].astype(str))
    assert not set(items(top)) & seen, "already-seen items are excluded by default"
    (again,) = trained.predictor.predict([{"user_id": 1, "n": 10, "exclude_seen": False}])
    assert set(items(again)) & seen, "a user's strongest items are among the seen ones when they are allowed"
    (related,) = trained.predictor.predict([{"item_id": "50", "n": 5}])  # Star Wars
    assert len(related["items"]) == 5 and "50" not in items(related)


def test_new_events_change_the_next_recommendations_without_retraining(movies):
    trained, _, _ = movies
    predictor = trained.kind.load(trained.workdir)
    (before,) = predictor.predict([{"user_id": "5", "n": 10}])
    # Three children's films (Toy Story, Aladdin, The Lion King) watched just now.
    (during,) = predictor.predict([{"user_id": "5", "n": 10, "recent_items": ["1", "95", "71"]}])
    (after,) = predictor.predict([{"user_id": "5", "n": 10}])
    assert items(during) != items(before)
    assert items(after) == items(during), "the predictor remembers the user's events"
    assert not {"1", "95", "71"} & set(items(after)), "the new events count as seen"
    assert items(trained.kind.load(trained.workdir).predict([{"user_id": "5", "n": 10}])[0]) == items(before)


def test_an_unknown_user_gets_popular_items_and_a_session_gets_personal_ones(movies):
    trained, _, train_part = movies
    (cold,) = trained.predictor.predict([{"user_id": "nobody", "n": 10}])
    assert {entry["source"] for entry in cold["items"]} == {"popularity"}
    recent = train_part[train_part["timestamp"] >= train_part["timestamp"].quantile(0.8)]
    top_recent = {str(item) for item in recent["item_id"].value_counts().index[:30]}
    assert len(set(items(cold)) & top_recent) >= 7
    (session,) = trained.predictor.predict([{"recent_items": ["1", "95", "71"], "n": 10}])
    assert {entry["source"] for entry in session["items"]} == {"collaborative"}
    assert items(session) != items(cold)


def test_als_folds_a_known_user_in_close_to_its_trained_row(movies, tmp_path):
    _, _, train_part = movies
    small = train_part[train_part["user_id"] <= 150]
    als = train(tmp_path, pa.Table.from_pandas(small, preserve_index=False), algorithm="als")
    assert als.result.summary["algorithm"] == "als"
    model = als.predictor.model
    agreements = []
    for user in ("3", "20", "77"):
        index = als.predictor._user_index[user]
        start, end = als.predictor.history.indptr[index], als.predictor.history.indptr[index + 1]
        folded = model.fold_in(als.predictor.history.indices[start:end], als.predictor.history.data[start:end])
        trained_scores = model.item_factors @ model.user_factors[index]
        agreements.append(np.corrcoef(trained_scores, model.item_factors @ folded)[0, 1])
    assert min(agreements) > 0.9, agreements
    (plain,) = als.predictor.predict([{"user_id": "3"}])
    (moved,) = als.predictor.predict([{"user_id": "3", "recent_items": ["1", "95", "71", "8", "94"]}])
    assert items(plain) != items(moved)


# --- filters, cold items, re-ranking ---------------------------------------------------------


def test_category_and_item_filters(shop):
    predict = shop.predictor.predict
    (kitchen,) = predict([{"user_id": "u0", "include_categories": ["kitchen"], "n": 20, "exclude_seen": False}])
    assert items(kitchen) and set(items(kitchen)) <= {f"i{n:02d}" for n in range(6, 12)}
    (not_music,) = predict([{"user_id": "u2", "exclude_categories": ["music"], "n": 20, "exclude_seen": False}])
    assert not set(items(not_music)) & {f"i{n}" for n in range(12, 18)}
    (without,) = predict([{"user_id": "u1", "exclude_items": ["i06", "i07"], "n": 20, "exclude_seen": False}])
    assert not {"i06", "i07"} & set(items(without))
    (nothing,) = predict([{"user_id": "u1", "include_categories": ["no such shelf"]}])
    assert nothing == {"items": []}


def test_unavailable_items_are_left_out_unless_asked(shop):
    # The mixing bowls (i10) went out of stock after people bought them; the kitchen scale (i91) never had stock.
    (default,) = shop.predictor.predict([{"item_id": "i08", "n": 25}])
    assert "i10" not in items(default) and "i91" not in items(default)
    (anything,) = shop.predictor.predict([{"item_id": "i08", "n": 25, "available_only": False}])
    assert "i10" in items(anything)
    baker = {"user_id": "b", "recent_items": ["i06", "i07", "i08", "i09"], "n": 25, "available_only": False}
    (everything,) = shop.predictor.predict([baker])
    assert "i91" in items(everything) and "i10" in items(everything)


def test_cold_items_are_reached_through_their_text(shop):
    # i90, an electric guitar amplifier nobody has touched, is related to the guitars...
    (amp,) = shop.predictor.predict([{"item_id": "i90", "n": 3}])
    assert {entry["source"] for entry in amp["items"]} == {"content"}
    assert set(items(amp)) & {"i12", "i13"}, amp  # acoustic guitar, guitar strings
    # ...and takes one slot in a music lover's list, never in a gardener's.
    music_fan = {"user_id": "fan", "recent_items": ["i12", "i13", "i14"], "n": 5}
    (fan,) = shop.predictor.predict([music_fan])
    assert fan["items"][-1]["item_id"] == "i90" and fan["items"][-1]["source"] == "content"
    assert sum(entry["source"] == "content" for entry in fan["items"]) == 1
    (gardener,) = shop.predictor.predict([{"user_id": "g", "recent_items": ["i00", "i01", "i02"], "n": 5}])
    assert "i90" not in items(gardener)
    (guitars,) = shop.predictor.predict([{"item_id": "i12", "n": 5}])
    assert "i90" in items(guitars)


def test_reranking_orders_the_candidates_and_keeps_unknown_ones_last(shop):
    candidates = ["i00", "i13", "ghost", "i07", "i13"]
    (answer,) = shop.predictor.predict([{"user_id": "u2", "candidates": candidates}])
    assert items(answer)[:3] == items(answer)[:3] and sorted(items(answer)) == sorted(["i00", "i13", "i07", "ghost"])
    assert answer["items"][-1] == {"item_id": "ghost", "score": None, "source": "unknown"}
    scores = [entry["score"] for entry in answer["items"][:3]]
    assert scores == sorted(scores, reverse=True)
    (two,) = shop.predictor.predict([{"user_id": "u2", "candidates": candidates, "n": 2}])
    assert items(two) == items(answer)[:2]


def test_training_reports_its_search_and_progress(shop):
    assert shop.progress.fractions[0] == 0.0 and shop.progress.fractions[-1] == 1.0
    assert shop.progress.fractions == sorted(shop.progress.fractions)
    assert any("catalogue-only items" in line for line in shop.progress.logs)
    assert shop.result.summary["text_embeddings"] is True
    assert {"ndcg@10", "recall@10", "map@10", "coverage@10"} <= set(shop.result.metrics)


def test_a_single_algorithm_can_be_forced(tmp_path):
    example = RecommenderKind.example()
    trained = train(tmp_path, example.train, algorithm="popularity", validation_items=2)
    assert trained.result.summary["algorithm"] == "popularity"
    (answer, reranked) = trained.predictor.predict([{"user_id": "u1"}, {"user_id": "u1", "candidates": ["i00", "i01"]}])
    assert {entry["source"] for entry in answer["items"] + reranked["items"]} == {"popularity"}


# --- flywheel feedback -----------------------------------------------------------------------


def test_feedback_turns_clicks_purchases_and_events_into_interactions():
    kind = RecommenderKind()
    params = parse_params(kind, {"user_column": "customer", "item_column": "sku", "time_column": "at"})
    when = "2026-11-24T10:00:00+00:00"
    records = [
        FeedbackRecord({"user_id": "7"}, {"items": []}, {"label": "A1", "created_at": when}),
        FeedbackRecord(
            {"user_id": 7, "recent_items": ["B2", {"item_id": "C3", "event_type": "cart"}]},
            {"items": []},
            {"outcome": {"item_id": "D4", "event_type": "purchase", "event_value": 2}, "created_at": when},
        ),
        FeedbackRecord({"user_id": "8"}, {"items": [{"item_id": "E5"}]}, {"reward": 1.0, "created_at": when}),
        FeedbackRecord({"user_id": "8"}, {"items": [{"item_id": "E5"}, {"item_id": "F6"}]}, {"reward": 1.0}),
        FeedbackRecord({"item_id": "A1"}, {"items": [{"item_id": "B2"}]}, {"label": "B2"}),
    ]
    rows = kind.feedback_rows(params, records)
    when = datetime(2026, 11, 24, 10, tzinfo=UTC)  # a date-time: the kernel's join casts it to any timestamp type
    assert rows == [
        {"customer": "7", "sku": "A1", "at": when, "event_type": "click"},
        {"customer": "7", "sku": "B2", "at": when, "event_type": "view"},
        {"customer": "7", "sku": "C3", "at": when, "event_type": "cart"},
        {"customer": "7", "sku": "D4", "at": when, "event_type": "purchase", "event_value": 2},
        {"customer": "8", "sku": "E5", "at": when, "event_type": "click", "event_value": 1.0},
    ]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("u1", "row 0: each input must be an object"),
        ({"user_id": "u1", "n": 0}, "n must be an integer from 1 to 1000"),
        ({"user_id": "u1", "n": "5"}, "n must be an integer"),
        ({"user": "u1"}, "unknown field.*'user'"),
        ({"user_id": {"id": 1}}, "user_id must be a string or an integer"),
        ({"user_id": " "}, "user_id is empty"),
        ({"item_id": "i01", "user_id": "u1"}, "cannot be combined"),
        ({"n": 3}, "give user_id"),
        ({"item_id": "i01", "candidates": ["i02"]}, "cannot be combined"),
        ({"user_id": "u1", "candidates": "i02"}, "candidates must be a list"),
        ({"user_id": "u1", "recent_items": [{"sku": "i02"}]}, "recent_items entries take item_id"),
        ({"user_id": "u1", "recent_items": [{"item_id": "i02", "event_value": -1}]}, "event_value must be a number"),
        ({"user_id": "u1", "exclude_seen": "no"}, "exclude_seen must be true or false"),
        ({"user_id": "u1", "include_categories": [1]}, "include_categories must be a list of strings"),
    ],
)
def test_bad_requests_are_named(shop, row, message):
    with pytest.raises(InvalidInput, match=message):
        shop.predictor.predict([{"user_id": "u0"}, row] if isinstance(row, dict) else [row])


def test_bad_datasets_and_params_are_named(tmp_path):
    kind = RecommenderKind()
    example = RecommenderKind.example()
    data = training_data(example.train, tmp_path / "shop")
    with pytest.raises(InvalidInput, match="user column 'customer' is not in the dataset; available: 'user_id'"):
        kind.validate(parse_params(kind, {"user_column": "customer"}), data.columns)
    with pytest.raises(InvalidInput, match="time_column 'when'"):
        kind.validate(parse_params(kind, {"time_column": "when"}), data.columns)
    with pytest.raises(InvalidInput, match="text column 'blurb'"):
        kind.validate(parse_params(kind, {"text_columns": ["blurb"]}), data.columns)
    with pytest.raises(InvalidInput, match="event_value_column 'title' must be numeric"):
        kind.validate(parse_params(kind, {"event_value_column": "title"}), data.columns)
    with pytest.raises(InvalidInput, match="cannot both be"):
        kind.validate(parse_params(kind, {"item_column": "user_id"}), data.columns)
    odd_time = pa.table({"user_id": ["a", "b"], "item_id": ["x", "y"], "timestamp": ["yesterday", "noon"]})
    with pytest.raises(InvalidInput, match="time column 'timestamp' holds values that are not dates"):
        kind.train(training_data(odd_time, tmp_path / "odd"), parse_params(kind, {}), Progress(), tmp_path / "m1")
    for field, value in (("search", "thorough"), ("refit", "never")):
        with pytest.raises(InvalidInput, match=field):
            parse_params(kind, {field: value})
    catalogue_only = pa.table({"user_id": pa.array([None, None], pa.string()), "item_id": ["x", "y"]})
    with pytest.raises(InvalidInput, match="no interactions"):
        kind.train(training_data(catalogue_only, tmp_path / "cat"), parse_params(kind, {}), Progress(), tmp_path / "m2")


def test_times_weights_and_integer_ids_are_read(tmp_path):
    """ISO times order the history; event weights and values scale it; 0 drops; 42 and "42" are one id."""
    table = pa.table(
        {
            "user_id": [1, 1, 1, 2, 2, 3, 3],
            "item_id": ["a", "b", "c", "a", "b", "b", "c"],
            "timestamp": ["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-01", "2026-01-02", "2026-01-01", "x"][:6]
            + ["2026-01-05T10:00:00Z"],
            "event_type": ["view", "purchase", "hide", "view", "view", "view", "view"],
            "event_value": [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 3.0],
        }
    )
    from aiflywheel.kinds.recommender.data import read_interactions

    params = parse_params(RecommenderKind(), {"event_weights": {"purchase": 5, "hide": 0}})
    inter = read_interactions(training_data(table, tmp_path), params)
    assert list(inter.user_ids) == ["1", "2", "3"]
    pairs = {
        (inter.user_ids[u], inter.item_ids[i]): (w, r)
        for u, i, w, r in zip(inter.user, inter.item, inter.weight, inter.rank, strict=True)
    }
    assert pairs[("1", "a")] == (1.0, 0.0) and pairs[("1", "b")] == (10.0, 1.0)
    assert ("1", "c") not in pairs, "weight 0 drops the event"
    assert pairs[("3", "c")] == (3.0, 0.0)


def test_ranking_metrics_match_their_definitions():
    from aiflywheel.kinds.recommender.metrics import ranking_metrics

    discount = 1.0 / np.log2(np.arange(2, 5))
    top = np.array([[3, 1, 2], [0, -2, -2], [4, 0, 1]])  # -2: fewer answers than asked
    truth = [np.array([1, 3]), np.array([-1]), np.array([], dtype=np.int64)]  # -1: an item the model never saw
    got = ranking_metrics(top, truth, n_items=6, k=3)
    assert got["n_eval_users"] == 2  # the third user has nothing relevant
    first_ndcg = (discount[0] + discount[1]) / (discount[0] + discount[1])
    assert got["ndcg@3"] == pytest.approx((first_ndcg + 0.0) / 2)
    assert got["recall@3"] == pytest.approx((1.0 + 0.0) / 2)
    assert got["map@3"] == pytest.approx(((1 / 1 + 2 / 2) / 2 + 0.0) / 2)
    assert got["coverage@3"] == pytest.approx(5 / 6)  # items 0-4 recommended; padding is not an item


def test_eases_cholesky_inverse_is_the_inverse():
    from aiflywheel.kinds.recommender.models import _spd_inverse

    counts = np.random.default_rng(0).random((50, 8)).astype(np.float32)
    gram = counts.T @ counts + 3.0 * np.eye(8, dtype=np.float32)
    np.testing.assert_allclose(_spd_inverse(gram.copy(), 8) @ gram, np.eye(8), atol=1e-4)


def test_top_k_breaks_ties_by_item_index_and_never_returns_an_excluded_item():
    import scipy.sparse as sp

    from aiflywheel.kinds.recommender.metrics import top_k
    from aiflywheel.kinds.recommender.predictor import RecommenderPredictor

    rng = np.random.default_rng(1)
    for trial in range(100):
        rows, n, k = int(rng.integers(1, 20)), int(rng.integers(1, 40)), int(rng.integers(1, 12))
        scores = rng.integers(0, 4, (rows, n)).astype(np.float32)  # many ties
        scores[rng.random((rows, n)) < 0.2] = -np.inf
        exclude = sp.random(rows, n, density=0.3, format="csr", random_state=trial)
        blocked = scores.copy()
        blocked[exclude.toarray() != 0] = -np.inf
        expected = [sorted(range(n), key=lambda item, row=row: (-blocked[row, item], item))[:k] for row in range(rows)]
        np.testing.assert_array_equal(top_k(scores, exclude, k), np.array(expected).reshape(rows, min(k, n)))
        allowed = np.isfinite(blocked[0])
        served = RecommenderPredictor._top(blocked[0], allowed, k)  # what a request is answered with
        np.testing.assert_array_equal(served, [item for item in expected[0] if allowed[item]])


def test_eases_user_side_inverse_gives_the_item_side_weights():
    """With at most half as many users as items, EASE inverts XXᵀ (Woodbury); the weights are the same."""
    import scipy.sparse as sp

    from aiflywheel.kinds.recommender.models import Ease, EaseSystem, ease_system

    interactions = sp.csr_matrix((np.random.default_rng(2).random((12, 40)) < 0.3).astype(np.float32))
    user_side = ease_system(interactions, 40)
    assert user_side.users is not None and user_side.gram.shape == (12, 12)
    dense = interactions[:, user_side.keep].toarray()
    item_side = EaseSystem(user_side.keep, dense.T @ dense)
    settings = {"l2": 5.0, "max_items": 40}
    via_users = Ease(40, settings).fit_system(user_side).weights
    via_items = Ease(40, settings).fit_system(item_side).weights
    np.testing.assert_allclose(via_users, via_items, atol=1e-5)


def test_eases_dense_items_hold_most_of_the_interactions_and_leave_out_the_rarest():
    from aiflywheel.kinds.recommender.models import DENSE_SHARE, MIN_DENSE_ITEMS, most_taken

    rare = np.ones(1000)  # 1,000 interactions on 1,000 items, against 200 × 100 on the popular ones
    counts = np.r_[np.full(200, 100.0), rare, [0.0]]
    kept = most_taken(counts, 10_000)
    assert counts[kept].sum() >= DENSE_SHARE * counts.sum() > counts[kept[:-1]].sum(), "just enough for the share"
    assert kept.tolist() == list(range(200)), "the popular items, not the rare or untaken ones"
    assert len(most_taken(counts, 150)) == 150, "the cap wins"
    few = np.r_[[1000.0], np.ones(20)]
    assert len(most_taken(few, 10_000)) == min(MIN_DENSE_ITEMS, 21), "a small catalogue keeps every taken item"


# --- the staged search -----------------------------------------------------------------------


def families(trained: Trained) -> set[str]:
    return {entry["candidate"].split("(")[0] for entry in trained.result.summary["validation"]}


def test_a_full_search_tries_every_candidate_at_every_half_life(tmp_path):
    example = RecommenderKind.example()
    trained = train(tmp_path, example.train, search="full", **example.params)
    assert families(trained) == {"popularity", "item_item", "ease", "als", "bpr"}
    ease_lives = [entry for entry in trained.result.summary["validation"] if entry["candidate"].startswith("ease")]
    assert len(ease_lives) == 2 * 5, "two λs at five half-lives"
    assert "skipped" not in trained.result.summary


def test_the_wide_models_join_when_eases_items_hold_under_half_of_validation(tmp_path):
    """40 items taken evenly: EASE's 10 items hold about a quarter of what users take next."""
    rng = np.random.default_rng(3)
    users, items, times = [], [], []
    for user in range(40):
        for step, item in enumerate(rng.choice(40, size=16, replace=False)):
            users.append(f"u{user}")
            items.append(f"i{item}")
            times.append(step)
    table = pa.table({"user_id": users, "item_id": items, "timestamp": times})
    trained = train(tmp_path, table, max_dense_items=10, validation_items=2)
    assert {"item_item", "als", "bpr"} <= families(trained)
    assert "skipped" not in trained.result.summary


def test_an_ease_winner_keeps_its_validation_fit_unless_the_unseen_rows_matter():
    from aiflywheel.kinds.recommender.data import Catalogue, Interactions
    from aiflywheel.kinds.recommender.search import Candidate, _needs_refit

    n_users, per_user = 20, 10
    user = np.repeat(np.arange(n_users), per_user)
    item = np.tile(np.arange(per_user), n_users)
    item[-1] = per_user  # an item only the last pair has
    rank = np.tile(np.arange(per_user)[::-1], n_users).astype(np.float32)
    inter = Interactions(
        user_ids=np.array([f"u{u}" for u in range(n_users)], dtype=object),
        item_ids=np.array([f"i{i}" for i in range(per_user + 1)], dtype=object),
        user=user,
        item=item,
        weight=np.ones(len(user), np.float32),
        rank=rank,
        last=rank.astype(np.float64),
        catalogue=Catalogue(),
        n_events=len(user),
    )
    everything = np.arange(len(user))
    ease = Candidate("ease", {"l2": 200.0})
    assert not _needs_refit(inter, ease, everything[everything != 9]), "one more pair, on a known item: kept"
    assert _needs_refit(inter, ease, everything[:-1]), "the unseen pair is on an item the fit never saw"
    assert _needs_refit(inter, ease, everything[: len(user) // 2]), "the unseen pairs double the data"
    assert _needs_refit(inter, Candidate("als", {}), everything[everything != 9]), "factor rows come from the fit"


def test_search_shortcuts_rank_as_the_dense_scores_do():
    """Popularity and an EASE over part of the catalogue skip the dense rows × items matrix; same scores."""
    import scipy.sparse as sp

    from aiflywheel.kinds.recommender.metrics import top_k
    from aiflywheel.kinds.recommender.models import Ease
    from aiflywheel.kinds.recommender.search import _chunk_top, _popular_top

    rng = np.random.default_rng(0)
    for _ in range(30):
        n, users = int(rng.integers(15, 60)), int(rng.integers(3, 30))
        seen = sp.csr_matrix((rng.random((users, n)) < 0.3).astype(np.float32))
        blocked = seen.toarray() > 0
        counts = rng.integers(0, 5, n).astype(np.float32)
        fast = _popular_top(counts, seen, 10)
        if fast is not None:
            slow = top_k(np.tile(counts, (users, 1)), seen, 10)
            np.testing.assert_array_equal(fast, slow)  # both break ties by item index
            assert not np.take_along_axis(blocked, fast, axis=1).any()
        model = Ease(n, {"l2": 20.0, "max_items": int(rng.integers(10, n))})
        model.fit(sp.csr_matrix((rng.random((3 * users, n)) < 0.15).astype(np.float32)))
        history = sp.csr_matrix((rng.random((users, n)) < 0.2).astype(np.float32))
        dense = model.scores(history, np.arange(users))
        dense[blocked] = -np.inf
        fast = _chunk_top(model, history, np.arange(users), seen)
        slow = top_k(model.scores(history, np.arange(users)), seen, 10)
        np.testing.assert_allclose(np.take_along_axis(dense, fast, 1), np.take_along_axis(dense, slow, 1))


FULL_SEARCH_AFTER_OPENCV = """
import warnings
warnings.simplefilter("error")
from aiflywheel.kinds.components.blas import blas_threads
with blas_threads(1):  # the one-scan controller looks before OpenCV's own OpenBLAS is loaded
    pass
import cv2  # noqa: F401
import sys, tempfile
from pathlib import Path
import pyarrow.parquet as pq
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import TrainingData, parse_params
from aiflywheel.kinds.recommender import RecommenderKind
kind = RecommenderKind()
example = kind.example()
work = Path(tempfile.mkdtemp())
pq.write_table(example.train, work / "raw.parquet")
(work / "ingest").mkdir()
ingested = ingest(work / "raw.parquet", work / "ingest")
class Quiet:
    def __call__(self, *args): pass
    def log(self, *args): pass
params = parse_params(kind, {**example.params, "search": "full"})
for run in range(2):
    (work / str(run)).mkdir()
    kind.train(TrainingData(ingested.path, ingested.columns), params, Quiet(), work / str(run))
"""


def test_implicits_fits_never_meet_a_threaded_blas_whatever_was_loaded_before():
    """implicit warns (an error in tests) when any loaded OpenBLAS may use two threads as its fit starts; OpenCV
    brings its own, and a limit on fewer libraries, ended by one search thread, lifted the other's."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", FULL_SEARCH_AFTER_OPENCV], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
