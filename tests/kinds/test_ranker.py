"""The ranker kind: quality on a Cranfield slice, requests, filters, boosts, empty queries, clicks, errors."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import Stemmer

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import FeedbackRecord, TrainingData, parse_params
from aiflywheel.kinds.ranker import RankerKind, RankerParams
from aiflywheel.kinds.ranker.metrics import ndcg
from aiflywheel.kinds.ranker.predictor import EMPTY_NOTE, FILTERED_NOTE, UNMATCHED_NOTE
from aiflywheel.testing import check_kind

CRANFIELD = Path(__file__).resolve().parents[3] / "shared" / "data" / "cranfield"
SLICE_QUERIES = 32  # the first judged queries (24 to train, 8 held out); their judged documents and 60 others


class Progress:
    def __init__(self):
        self.fractions: list[float] = []
        self.logs: list[str] = []

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fractions.append(fraction)

    def log(self, message: str) -> None:
        self.logs.append(message)


def training_data(table: pa.Table, folder: Path) -> TrainingData:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "upload.parquet")
    (folder / "ingest").mkdir()
    ingested = ingest(folder / "upload.parquet", folder / "ingest")
    return TrainingData(ingested.path, ingested.columns)


def train(folder: Path, table: pa.Table, **params):
    kind = RankerKind()
    data = training_data(table, folder / "data")
    parsed = parse_params(kind, params)
    kind.validate(parsed, data.columns)
    result = kind.train(data, parsed, Progress(), folder / "model")
    return kind, data, parsed, result, kind.load(folder / "model")


def cranfield_slice() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Documents judged for the first queries, as many unjudged ones, and those queries' judgments."""
    corpus = pd.read_json(CRANFIELD / "corpus.jsonl", lines=True, dtype={"doc_id": str})
    queries = pd.read_csv(CRANFIELD / "queries_dev.tsv", sep="\t", dtype=str)
    qrels = pd.read_csv(CRANFIELD / "qrels_dev.tsv", sep="\t", dtype={"query_id": str, "doc_id": str})
    chosen = queries["query_id"].head(SLICE_QUERIES)
    judged = qrels[qrels["query_id"].isin(chosen)].merge(queries[["query_id", "text"]], on="query_id")
    judged = judged.rename(columns={"text": "query"})[["query_id", "query", "doc_id", "relevance"]]
    wanted = set(judged["doc_id"])
    others = corpus[~corpus["doc_id"].isin(wanted)].sample(60, random_state=0)
    docs = pd.concat([corpus[corpus["doc_id"].isin(wanted)], others])[["doc_id", "title", "text"]]
    return (
        docs.reset_index(drop=True),
        judged[judged["query_id"].isin(chosen.head(24))],
        judged[~judged["query_id"].isin(chosen.head(24))],
    )


def as_table(docs: pd.DataFrame, judged: pd.DataFrame) -> pa.Table:
    frame = pd.concat([docs, judged.astype({"relevance": float})], ignore_index=True)
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture(scope="module")
def cranfield(tmp_path_factory):
    docs, fit_part, held_part = cranfield_slice()
    folder = tmp_path_factory.mktemp("cranfield")
    kind, data, params, result, predictor = train(folder, as_table(docs, fit_part), dense_words=48)
    held = training_data(as_table(docs.head(0), held_part), folder / "held")
    return kind, params, result, predictor, docs, held, held_part


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    example = RankerKind.example()
    return train(tmp_path_factory.mktemp("shop"), example.train, **example.params)


def test_conforms(tmp_path):
    metrics = check_kind(RankerKind(), workdir=tmp_path)
    assert metrics["ndcg@10"] > 0.5


def test_params_have_working_defaults_and_reject_unknown_fields():
    params = RankerParams()
    assert (params.candidates, params.rrf_k, params.rerank) == (100, 60.0, True)
    with pytest.raises(InvalidInput, match="candidates"):
        parse_params(RankerKind(), {"candidates": 1})
    with pytest.raises(InvalidInput, match="colour"):
        parse_params(RankerKind(), {"colour": "red"})
    with pytest.raises(InvalidInput, match="feature_sets"):
        parse_params(RankerKind(), {"feature_sets": ["scores", "colour"]})
    with pytest.raises(InvalidInput, match="other_trees"):
        parse_params(RankerKind(), {"other_trees": [{"num_leaves": 1}]})
    sizes = parse_params(RankerKind(), {"num_trees": 50, "other_trees": [{"num_trees": 50}, {"num_leaves": 3}]}).trees()
    assert [(size.num_trees, size.num_leaves) for size in sizes] == [(50, 7), (100, 3)]  # the first listed once


@pytest.mark.parametrize(
    ("columns", "params", "message"),
    [
        (["id", "title"], {}, "no document id column 'doc_id'"),
        (["doc_id", "price"], {}, "no text to search"),
        (["doc_id", "title"], {"text_fields": ["title", "summary"]}, "lacks: summary"),
        (["doc_id", "title"], {"field_weights": {"body": 2.0}}, "not searched: body"),
        (["doc_id", "title"], {"boosts": {"margin": 0.1}}, "lacks: margin"),
        (["doc_id", "title", "query"], {}, "relevance column"),
    ],
)
def test_validate_names_what_is_missing(columns, params, message):
    kind = RankerKind()
    with pytest.raises(InvalidInput, match=message):
        kind.validate(parse_params(kind, params), tuple(columns))


def bm25s_ndcg(docs: pd.DataFrame, judged: pd.DataFrame) -> float:
    """The peer, bm25s with its own stemmed tokenizer over title and text, on the same queries."""
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(
            (docs["title"] + " " + docs["text"]).tolist(), stopwords="en", stemmer=stemmer, show_progress=False
        ),
        show_progress=False,
    )
    scores = []
    for _, rows in judged.groupby("query_id"):
        gains = dict(zip(rows["doc_id"], rows["relevance"].astype(int), strict=True))
        if not any(gain > 0 for gain in gains.values()):
            continue
        tokens = bm25s.tokenize([rows["query"].iloc[0]], stopwords="en", stemmer=stemmer, show_progress=False)
        found, _ = retriever.retrieve(tokens, k=10, show_progress=False)
        scores.append(ndcg([docs["doc_id"].iloc[i] for i in found[0]], gains))
    return float(np.mean(scores))


def test_held_out_cranfield_queries_rank_better_than_bm25(cranfield):
    kind, params, result, predictor, docs, held, held_part = cranfield
    assert result.metrics["n_documents"] == len(docs)
    assert result.summary["judged_queries"] == 24
    served = kind.evaluate(predictor, held, params)
    assert served["n_queries"] == 8
    assert served["ndcg@10"] > bm25s_ndcg(docs, held_part) + 0.02, served
    assert served["recall@100"] > 0.8


def test_too_few_judged_queries_train_no_reranker(cranfield):
    _, _, result, predictor, _, _, _ = cranfield
    assert result.summary["reranker"] is False and predictor.booster is None
    assert "min_judged_queries=50" in result.summary["note"]
    assert result.metrics["ndcg@10"] is None  # nothing held out, nothing claimed


def test_a_reranker_is_trained_and_kept_only_when_it_wins(shop):
    result, predictor = shop[3], shop[4]
    metrics = result.metrics
    assert metrics["held_out_queries"] == 10 and result.summary["judged_queries"] == 10
    if result.summary["reranker"]:
        assert metrics["ndcg@10"] > metrics["baseline_fusion_ndcg@10"] and predictor.booster is not None
    else:
        assert metrics["ndcg@10"] >= metrics["baseline_rerank_ndcg@10"] and predictor.booster is None


def test_the_out_of_fold_check_chooses_among_feature_sets_and_sizes(tmp_path):
    example = RankerKind.example()
    sizes = {"other_trees": [{"num_trees": 20, "num_leaves": 3, "min_data_in_leaf": 2}]}
    result = train(tmp_path, example.train, **example.params, **sizes)[3]
    tried = result.summary["variants"]
    assert len(tried) == 4  # scores / query-normalized x two sizes
    assert {name.split(",")[0] for name in tried} == {"scores", "query_normalized"}
    if result.summary["reranker"]:
        assert tried[result.summary["variant"]] == max(tried.values())
        assert result.metrics["ndcg@10"] == pytest.approx(max(tried.values()), abs=1e-4)


def test_query_normalized_features_are_standardized_within_each_query(shop):
    index = shop[4].index
    names = index.feature_names()
    pool = index.candidates(index.analyze_queries(["electric guitar for a beginner"])[0], 100, 60.0, None)
    assert pool.features.shape == (len(pool.rows), len(names)) and len(pool.rows) > 5
    plain = index.feature_names(normalized=False)
    assert names[: len(plain)] == plain  # a model trained on the scores alone reads the same columns
    normalized = [name for name in names if name.startswith("z_")]
    assert {"z_bm25_title", "z_bm25_all", "z_dense", "z_feedback_bm25"} <= set(normalized)
    for name in normalized:
        raw, standardized = pool.features[:, names.index(name[2:])], pool.features[:, names.index(name)]
        if raw.std() > 0:
            assert np.allclose(standardized, (raw - raw.mean()) / raw.std())
        else:  # the same for every candidate: zeros, not a division by zero
            assert (standardized == 0).all()
    assert "z_lexical_rank" not in names  # ranks already mean the same in every query


def test_a_model_of_the_scores_alone_scores_full_feature_rows(shop):
    from aiflywheel.kinds.ranker import learn
    from aiflywheel.kinds.ranker.data import read
    from aiflywheel.kinds.ranker.params import TreeSettings

    _, data, params, _, predictor = shop
    judged = read(data, params)[1]
    pools = learn.gather(predictor.index, judged, params)
    small = TreeSettings(num_trees=10, num_leaves=3, min_data_in_leaf=2)
    model = learn.fit(predictor.index, pools, judged, params, learn.Variant("scores", small))
    assert model.feature_names == predictor.index.feature_names(normalized=False)
    scores = [model.predict(pool.features) for pool in pools.values()]
    assert all(np.isfinite(part).all() for part in scores) and np.ptp(np.concatenate(scores)) > 0


def test_evaluate_needs_judgments(cranfield, tmp_path):
    kind, params, _, predictor, docs, _, _ = cranfield
    only_docs = training_data(pa.Table.from_pandas(docs.head(5), preserve_index=False), tmp_path)
    with pytest.raises(InvalidInput, match="judgment rows"):
        kind.evaluate(predictor, only_docs, params)


def test_empty_unmatched_and_filtered_out_queries_get_a_note(shop):
    predictor = shop[4]
    empty, blank, nonsense, filtered = predictor.predict(
        [
            {"query": ""},
            {"query": "   "},
            {"query": "qwzx vbnmp"},
            {"query": "guitar", "filters": {"price": {"gt": 1e6}}},
        ]
    )
    assert empty == blank == {"results": [], "note": EMPTY_NOTE}
    assert nonsense["results"] == [] and nonsense["note"] == UNMATCHED_NOTE
    assert filtered == {"results": [], "note": FILTERED_NOTE}


def test_answers_follow_the_contract_and_typos_are_read_as_indexed_words(shop):
    predictor = shop[4]
    first, typo = predictor.predict([{"query": "acoustic guitar", "k": 3}, {"query": "gitar strngs", "k": 3}])
    assert [r["doc_id"] for r in first["results"]][0] == "p01"
    assert len(first["results"]) == 3 and all(isinstance(r["score"], float) for r in first["results"])
    scores = [r["score"] for r in first["results"]]
    assert scores == sorted(scores, reverse=True)
    assert typo["corrected"]["gitar"] == "guitar"
    assert typo["results"][0]["doc_id"] in {"p03", "p01"}


def test_filters_and_facets(shop):
    predictor = shop[4]
    kitchen, available, either = predictor.predict(
        [
            {"query": "coffee", "filters": {"category": "kitchen", "price": {"lt": 100}}, "facets": ["category"]},
            {"query": "garden", "filters": {"available": True}, "k": 20},
            {"query": "guitar", "filters": {"category": ["music", "garden"]}, "facets": ["category"], "k": 20},
        ]
    )
    assert kitchen["results"][0]["doc_id"] == "p10"  # the grinder: the espresso machine costs 229
    assert "p09" not in {r["doc_id"] for r in kitchen["results"]}
    assert set(kitchen["facets"]["category"]) == {"kitchen"}
    assert "p18" not in {r["doc_id"] for r in available["results"]}  # the gloves are out of stock
    assert set(either["facets"]["category"]) <= {"music", "garden"}


def test_business_boosts_lift_available_documents(tmp_path):
    example = RankerKind.example()
    *_, plain = train(tmp_path / "plain", example.train, rerank=False)
    *_, boosted = train(tmp_path / "boosted", example.train, rerank=False, boosts={"available": 1.0})
    query = [{"query": "electric guitar amplifier", "k": 3}]
    assert plain.predict(query)[0]["results"][0]["doc_id"] == "p04"  # the amplifier, out of stock
    assert boosted.predict(query)[0]["results"][0]["doc_id"] != "p04"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"query": "guitar", "k": 0}, "'k' must be an integer"),
        ({"query": 7}, "'query' must be a string"),
        ({"query": "guitar", "colour": "red"}, "unknown fields"),
        ({"query": "guitar", "filters": {"colour": "red"}}, "unknown attribute 'colour'"),
        ({"query": "guitar", "filters": {"category": {"lt": 3}}}, "needs a numeric attribute"),
        ({"query": "guitar", "filters": {"price": {"about": 3}}}, "a range takes"),
        ({"query": "guitar", "filters": "music"}, "'filters' must be an object"),
        ({"query": "guitar", "facets": "category"}, "'facets' must be a list"),
        ("guitar", "must be an object"),
    ],
)
def test_bad_requests_are_invalid_input(shop, request_, message):
    with pytest.raises(InvalidInput, match=message):
        shop[4].predict([request_])


def test_clicks_become_judgments_without_the_unseen_results():
    kind = RankerKind()
    params = parse_params(kind, {})
    shown = {"results": [{"doc_id": d, "score": 1.0} for d in ("a", "b", "c", "d")]}
    records = [
        FeedbackRecord({"query": "wing flutter"}, shown, {"label": "c", "event_id": "1"}),
        FeedbackRecord({"query": "wing flutter"}, shown, {"outcome": {"doc_id": "a", "event_type": "purchase"}}),
        FeedbackRecord({"query": ""}, shown, {"label": "a"}),  # an empty query teaches nothing
        FeedbackRecord({"query": "wing"}, shown, {"reward": 1.0}),  # no document named
    ]
    rows = kind.feedback_rows(params, records)
    assert rows == [
        {"query": "wing flutter", "doc_id": "a", "relevance": 0.0},
        {"query": "wing flutter", "doc_id": "b", "relevance": 0.0},
        {"query": "wing flutter", "doc_id": "c", "relevance": 2.0},
        {"query": "wing flutter", "doc_id": "a", "relevance": 4.0},
    ]


def test_feedback_rows_train_the_next_model(tmp_path):
    example = RankerKind.example()
    kind = RankerKind()
    rows = kind.feedback_rows(parse_params(kind, example.params), example.feedback)
    table = pa.concat_tables([example.train, pa.Table.from_pylist(rows, schema=example.train.schema)])
    _, _, _, result, _ = train(tmp_path, table, **example.params)
    assert result.summary["judged_queries"] == 12  # the example's 10 judged queries and two queries clicked


def test_the_served_trees_score_as_lightgbm_does():
    """The NumPy walk of dumped trees equals LightGBM's own predict, missing values and averaging included."""
    import lightgbm as lgb

    from aiflywheel.kinds.ranker.trees import TreeEnsemble

    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 5))
    features[rng.random(features.shape) < 0.1] = np.nan  # splits learn a default direction for missing values
    features[:, 4] = np.where(rng.random(400) < 0.3, 0.0, features[:, 4])
    labels = (np.nan_to_num(features[:, 0]) + np.nan_to_num(features[:, 1]) > 0).astype(int) + (features[:, 4] == 0)
    settings = {"objective": "lambdarank", "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1}
    boosters = [
        lgb.train(
            {**settings, "seed": seed, "bagging_fraction": 0.8, "bagging_freq": 1, "zero_as_missing": seed == 1},
            lgb.Dataset(features, labels, group=[20] * 20),
            num_boost_round=20,
        )
        for seed in range(2)
    ]
    walked = TreeEnsemble.from_boosters(boosters)
    expected = np.mean([booster.predict(features) for booster in boosters], axis=0)
    assert np.allclose(walked.predict(features), expected, atol=1e-9)
    assert not np.allclose(boosters[0].predict(features), boosters[1].predict(features))
