"""The ``ranker`` kind: hybrid search (BM25 + sentence vectors, fused) re-ranked by LambdaRank from judgments."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.ranker import learn
from aiflywheel.kinds.ranker.data import check_columns, judgments, read
from aiflywheel.kinds.ranker.example import make_example
from aiflywheel.kinds.ranker.index import SearchIndex
from aiflywheel.kinds.ranker.metrics import DEPTH, K, summarize
from aiflywheel.kinds.ranker.params import RankerParams
from aiflywheel.kinds.ranker.predictor import RankerPredictor
from aiflywheel.kinds.ranker.requests import INPUT_SCHEMA, OUTPUT_SCHEMA

PRIMARY = Metric(f"ndcg@{K}", True)


class RankerKind:
    """Search ranking: index documents, retrieve with BM25 and dense vectors, fuse, re-rank with LambdaRank.

    Examples
    --------
    >>> RankerKind().Params().rrf_k
    60.0
    """

    name: ClassVar[str] = "ranker"
    description: ClassVar[str] = (
        "Search ranking: BM25 and sentence-vector retrieval, fused, re-ranked by LambdaRank from judgments and clicks."
    )
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = RankerParams
    input_schema: ClassVar[dict[str, Any]] = INPUT_SCHEMA
    output_schema: ClassVar[dict[str, Any]] = OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = PRIMARY

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        check_columns(_params(params), columns)

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Index the document rows; with judged queries, train a re-ranker and keep it if it wins."""
        p = _params(params)
        began = time.perf_counter()
        progress(0.0, "reading documents and judgments")
        docs, judged = read(data, p)
        _check_boosts(docs.attributes, p)
        progress.log(
            f"{len(docs.doc_ids)} documents ({docs.skipped} rows without text skipped), {len(judged)} judged queries"
        )
        progress(0.05, f"indexing {len(docs.doc_ids)} documents (BM25 and sentence vectors)")
        index = SearchIndex.build(docs.doc_ids, docs.fields, docs.attributes, p.field_weights, p.dense_words)
        index_seconds = time.perf_counter() - began
        booster, metrics, summary = learn.train_reranker(index, judged, p, progress)
        summary = {"index": index.describe(), **summary}
        predictor = RankerPredictor(index, booster, p)
        predictor.save(Path(workdir))
        metrics.update(
            n_documents=len(docs.doc_ids),
            index_seconds=round(index_seconds, 3),
            train_seconds=round(time.perf_counter() - began, 3),
        )
        progress(1.0, "done")
        return TrainResult(metrics, PRIMARY, summary)

    def load(self, workdir: Path) -> RankerPredictor:
        return RankerPredictor.load(Path(workdir))

    def evaluate(self, predictor: RankerPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """nDCG@10, MAP and Recall@100 of the served ranking on the judged queries of ``data``."""
        p = _params(params)
        frame = data.to_pandas()
        if p.query_column not in frame.columns:
            raise InvalidInput(f"evaluation needs judgment rows: the dataset has no {p.query_column!r} column")
        judged = judgments(frame[frame[p.query_column].notna()], p)
        if not len(judged):
            raise InvalidInput("evaluation needs judgment rows (query, doc_id, relevance); the dataset has none")
        keys = list(judged.queries)
        rankings: dict[str, list[str]] = {}
        for start in range(0, len(keys), 64):
            chunk = keys[start : start + 64]
            answers = predictor.predict([{"query": judged.queries[key], "k": DEPTH} for key in chunk])
            for key, answer in zip(chunk, answers, strict=True):
                rankings[key] = [result["doc_id"] for result in answer["results"]]
        metrics = summarize(rankings, judged.relevance)
        metrics["n_queries"] = len(keys)
        return metrics

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """Judgment rows from clicks: the clicked document, and the documents shown above it as not relevant.

        A feedback ``label`` is the clicked ``doc_id``; an ``outcome`` may be a doc id or
        ``{"doc_id", "event_type"}`` (``click``, ``purchase``...), whose relevance comes from
        ``click_relevance``. Position bias is handled the "click > skip above" way
        (Joachims, 2002): the results ranked above the clicked one were seen and passed
        over, so they become relevance-0 rows; results below it may never have been seen,
        so they teach nothing.
        """
        p = _params(params)
        rows: list[dict[str, Any]] = []
        for record in records:
            query = record.input.get("query")
            taken = _taken(record.feedback)
            if not isinstance(query, str) or not query.strip() or taken is None:
                continue
            doc, event = taken
            gain = p.click_relevance.get(event, p.click_relevance.get("click", 1.0))
            shown = [str(r.get("doc_id")) for r in record.output.get("results") or [] if isinstance(r, dict)]
            above = shown[: shown.index(doc)] if doc in shown else []
            rows += [{p.query_column: query, p.doc_id_column: other, p.relevance_column: 0.0} for other in above]
            rows.append({p.query_column: query, p.doc_id_column: doc, p.relevance_column: float(gain)})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def _taken(feedback: Mapping[str, Any]) -> tuple[str, str] | None:
    label, outcome = feedback.get("label"), feedback.get("outcome")
    if isinstance(label, str | int) and not isinstance(label, bool):
        return str(label), "click"
    if isinstance(outcome, dict) and outcome.get("doc_id") is not None:
        return str(outcome["doc_id"]), str(outcome.get("event_type") or "click")
    if isinstance(outcome, str | int) and not isinstance(outcome, bool):
        return str(outcome), "click"
    return None


def _check_boosts(attributes: pd.DataFrame, p: RankerParams) -> None:
    for column in p.boosts:
        values = attributes[column]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            raise InvalidInput(f"boost {column!r} needs a numeric or true/false column (it holds {values.dtype})")


def _params(params: BaseModel | Mapping[str, Any]) -> RankerParams:
    if isinstance(params, RankerParams):
        return params
    raw = params.model_dump(exclude_unset=True) if isinstance(params, BaseModel) else dict(params)
    try:
        return RankerParams.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"invalid parameters for kind 'ranker': {exc}") from exc
