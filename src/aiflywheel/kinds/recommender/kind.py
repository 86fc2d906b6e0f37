"""The ``recommender`` kind: personalised top-n, related items and re-ranking from interactions."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ValidationError

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.components import embeddings
from aiflywheel.kinds.recommender.data import Interactions, check_columns, read_interactions
from aiflywheel.kinds.recommender.example import make_example
from aiflywheel.kinds.recommender.metrics import K, ranking_metrics
from aiflywheel.kinds.recommender.models import Model
from aiflywheel.kinds.recommender.params import USUAL_NAMES, RecommenderParams
from aiflywheel.kinds.recommender.predictor import RecommenderPredictor
from aiflywheel.kinds.recommender.requests import INPUT_SCHEMA, OUTPUT_SCHEMA
from aiflywheel.kinds.recommender.search import Candidate, popularity_counts, select

PRIMARY = Metric(f"ndcg@{K}", True)


class RecommenderKind:
    """Recommendations from interactions: the best of popularity, BM25 item-item, EASE, ALS and BPR.

    Examples
    --------
    >>> RecommenderKind().Params().validation_items
    5
    """

    name: ClassVar[str] = "recommender"
    description: ClassVar[str] = (
        "Personalised recommendations, related items and re-ranking from user-item interactions."
    )
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = RecommenderParams
    input_schema: ClassVar[dict[str, Any]] = INPUT_SCHEMA
    output_schema: ClassVar[dict[str, Any]] = OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = PRIMARY

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        """Raise ``InvalidInput`` if the params name columns the dataset lacks or cannot use."""
        check_columns(_params(params), columns)

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Choose and fit a model; write ``recommender.json`` and ``arrays.npz``; report test metrics."""
        p = _params(params)
        began = time.perf_counter()
        progress(0.0, "reading interactions")
        inter = read_interactions(data, p)
        n_warm = int(inter.item.max()) + 1
        progress.log(
            f"{inter.n_events} interactions: {inter.n_users} users, {n_warm} items with interactions, "
            f"{inter.n_items - n_warm} catalogue-only items"
        )
        saved: dict[str, bool] = {}

        def save(best: Candidate, model: Model) -> None:  # runs while the search scores its test split
            vectors = _embed(inter, n_warm, progress)
            state = {
                "algorithm": best.algorithm,
                "settings": best.settings,
                "half_life": best.half_life,
                "n_warm_items": n_warm,
                "event_weights": p.event_weights,
                "cold_item_slots": p.cold_item_slots,
                "cold_item_min_similarity": p.cold_item_min_similarity,
            }
            arrays = _arrays(inter, model.to_arrays(), vectors, state)
            RecommenderPredictor(state, arrays).save(Path(workdir), arrays)
            saved["text_embeddings"] = vectors is not None

        selection = select(inter, p, progress, (0.05, 0.85), save)
        best = selection.best
        progress(1.0, "done")
        metrics = dict(selection.test_metrics)
        metrics.update(
            n_users=inter.n_users,
            n_items=inter.n_items,
            n_interactions=inter.n_events,
            train_seconds=round(time.perf_counter() - began, 3),
        )
        summary = {
            "algorithm": best.algorithm,
            "settings": best.settings,
            "recency_half_life": best.half_life,
            "chosen": best.describe(),
            "refitted": selection.refitted,
            "validation": [
                {"candidate": c.describe(), f"ndcg@{K}": c.scores.get(f"ndcg@{K}"), "seconds": round(c.seconds, 3)}
                for c in selection.tried
            ],
            "text_embeddings": saved["text_embeddings"],
        }
        if selection.skipped:
            summary["skipped"] = selection.skipped
        return TrainResult(metrics, PRIMARY, summary)

    def load(self, workdir: Path) -> RecommenderPredictor:
        return RecommenderPredictor.load(Path(workdir))

    def evaluate(self, predictor: RecommenderPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Top-10 metrics of ``predictor`` at predicting each user's interactions in ``data``.

        Every user of ``data`` is asked for 10 items as a client would ask (items the
        model saw the user take are excluded; unknown users get popular items), at most
        ``max_eval_users`` of them, sampled with the params' seed.
        """
        p = _params(params)
        inter = read_interactions(data, p)
        users = np.arange(inter.n_users)
        if len(users) > p.max_eval_users:
            users = np.sort(np.random.default_rng(p.seed).choice(users, size=p.max_eval_users, replace=False))
        truth_matrix = inter.matrix().tocsr()
        known = np.array([predictor._item_index.get(item, -1) for item in inter.item_ids.tolist()], dtype=np.int64)
        requests = [{"user_id": str(inter.user_ids[u]), "n": K} for u in users]
        outputs = [out for at in range(0, len(requests), 256) for out in predictor.predict(requests[at : at + 256])]
        top = np.full((len(users), K), -2, dtype=np.int64)
        truth = []
        for row, (user, output) in enumerate(zip(users, outputs, strict=True)):
            picked = [predictor._item_index[item["item_id"]] for item in output["items"]]
            top[row, : len(picked)] = picked
            start, end = truth_matrix.indptr[user], truth_matrix.indptr[user + 1]
            truth.append(known[truth_matrix.indices[start:end]])
        metrics = ranking_metrics(top, truth, len(predictor.item_ids), K)
        metrics["n_rows"] = inter.n_events
        return metrics

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """Interactions from answered predictions: the clicked or bought item, and the request's recent items.

        A feedback ``label`` (or a string ``outcome``) is the item the user took; an
        ``outcome`` object may say ``{"item_id", "event_type", "event_value"}``; a
        positive ``reward`` counts for the single item of a one-item answer. The
        request's ``recent_items`` become interactions too. Rows carry the feedback's
        time as an aware UTC date-time.
        """
        p = _params(params)
        rows: list[dict[str, Any]] = []
        for record in records:
            user = record.input.get("user_id")
            if user is None:
                continue
            when = _moment(record.feedback.get("created_at"))
            for event in record.input.get("recent_items") or []:
                entry = event if isinstance(event, dict) else {"item_id": event}
                rows.append(self._row(p, user, entry, when, default_type="view"))
            taken = _taken(record)
            if taken is not None:
                rows.append(self._row(p, user, taken, when, default_type="click"))
        return [row for row in rows if row[p.item_column] is not None]

    @staticmethod
    def _row(p: RecommenderParams, user: Any, event: Mapping[str, Any], when: Any, default_type: str) -> dict:
        # The base dataset's schema is not known here: the usual names are given, and the kernel's join
        # keeps only the columns the dataset has.
        row = {p.user_column: str(user), p.item_column: _text(event.get("item_id"))}
        row[p.time_column or USUAL_NAMES["time_column"]] = when
        row[p.event_type_column or USUAL_NAMES["event_type_column"]] = event.get("event_type") or default_type
        if event.get("event_value") is not None:
            row[p.event_value_column or USUAL_NAMES["event_value_column"]] = event["event_value"]
        return row

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def _taken(record: FeedbackRecord) -> dict[str, Any] | None:
    feedback = record.feedback
    label, outcome, reward = feedback.get("label"), feedback.get("outcome"), feedback.get("reward")
    if isinstance(label, str | int) and not isinstance(label, bool):
        return {"item_id": label}
    if isinstance(outcome, dict) and outcome.get("item_id") is not None:
        return outcome
    if isinstance(outcome, str | int) and not isinstance(outcome, bool):
        return {"item_id": outcome}
    items = record.output.get("items") or []
    if isinstance(reward, int | float) and reward > 0 and len(items) == 1:
        return {"item_id": items[0].get("item_id"), "event_value": float(reward)}
    return None


def _moment(value: Any) -> datetime | None:
    """The feedback's time as an aware UTC date-time: the kernel's join casts it to any timestamp column."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, bool) else str(value)


def _embed(inter: Interactions, n_warm: int, progress: Progress) -> np.ndarray | None:
    """Text vectors of every item, when some items have no interactions and the catalogue has text."""
    texts = inter.catalogue.text
    if texts is None or inter.n_items == n_warm or not any(text.strip() for text in texts[n_warm:]):
        return None
    if not embeddings.available():
        progress.log("item text ignored: the text-embedding packages are not installed")
        return None
    progress(0.85, f"embedding the text of {len(texts)} items")
    return embeddings.text_embedder().embed(texts).astype(np.float16)


def _arrays(inter: Interactions, model: dict[str, np.ndarray], vectors: np.ndarray | None, state: dict) -> dict:
    order = np.lexsort((inter.item, inter.user))
    indptr = np.zeros(inter.n_users + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(inter.user, minlength=inter.n_users))
    everything = np.arange(len(inter.user))
    arrays: dict[str, np.ndarray] = {
        "item_ids": np.array(inter.item_ids.tolist(), dtype=str),
        "user_ids": np.array(inter.user_ids.tolist(), dtype=str),
        "history_indptr": indptr,
        "history_item": inter.item[order].astype(np.int32),
        "history_weight": inter.weight[order].astype(np.float32),
        "history_rank": inter.rank[order].astype(np.float32),
        "popular_all": popularity_counts(inter, everything, "all"),
        "popular_recent": popularity_counts(inter, everything, "recent"),
        **{f"model.{name}": value for name, value in model.items()},
    }
    catalogue = inter.catalogue
    if catalogue.available is not None:
        arrays["available"] = catalogue.available
    if vectors is not None:
        arrays["embeddings"] = vectors
    if catalogue.categories is not None:
        members: dict[str, list[int]] = {}
        for item, names in enumerate(catalogue.categories):
            for name in names:
                members.setdefault(name, []).append(item)
        state["categories"] = sorted(members)
        for number, name in enumerate(state["categories"]):
            arrays[f"category.{number}"] = np.array(members[name], dtype=np.int64)
    return arrays


def _params(params: BaseModel | Mapping[str, Any]) -> RecommenderParams:
    if isinstance(params, RecommenderParams):
        return params
    raw = params.model_dump(exclude_unset=True) if isinstance(params, BaseModel) else dict(params)
    try:
        return RecommenderParams.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"invalid parameters for kind 'recommender': {exc}") from exc
