"""Training parameters of the ranker kind: every default works without tuning."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

USUAL_TEXT = ("title", "body", "text")


FeatureSet = Literal["scores", "query_normalized"]


class TreeSettings(BaseModel):
    """A size of LambdaRank model: boosting rounds, leaves per tree, rows per leaf at least."""

    model_config = ConfigDict(extra="forbid")

    num_trees: int = Field(100, ge=10, le=5000, description="LambdaRank boosting rounds.")
    num_leaves: int = Field(7, ge=2, le=255, description="Leaves per tree.")
    min_data_in_leaf: int = Field(50, ge=1, description="Rows per leaf, at least.")

    def describe(self) -> str:
        return f"{self.num_trees} trees of {self.num_leaves} leaves (>= {self.min_data_in_leaf} rows)"


class RankerParams(BaseModel):
    """How to build a search index, and a re-ranker, from one dataset.

    The dataset holds two sorts of rows. **Document rows** have no query: an id, text
    fields and attributes (any other column: category, price, availability,
    popularity...). **Judgment rows** have a query: ``query_id`` (optional), ``query``,
    ``doc_id`` and ``relevance`` (a graded gain, 0 = not relevant); their text and
    attribute columns are ignored. Clicks sent as feedback come back as judgment rows.

    Examples
    --------
    >>> RankerParams().candidates
    100
    >>> RankerParams().fields(["doc_id", "title", "text", "price"])
    ['title', 'text']
    """

    model_config = ConfigDict(extra="forbid")

    doc_id_column: str = Field("doc_id", min_length=1, description="The document's id.")
    query_column: str = Field("query", min_length=1, description="The query of a judgment row (empty on documents).")
    query_id_column: str = Field(
        "query_id", min_length=1, description="Groups judgment rows into queries when present; else the query text."
    )
    relevance_column: str = Field("relevance", min_length=1, description="Graded relevance of a judgment row (>= 0).")
    text_fields: list[str] | None = Field(
        None, description="Text columns searched; default: those of title, body and text the dataset has."
    )
    field_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight of each text field in the lexical score of the first stage (missing fields weigh 1; "
        "the re-ranker also sees each field's score on its own).",
    )
    boosts: dict[str, float] = Field(
        default_factory=dict,
        description="Business boosts: attribute column -> weight. The final score is the ranking's score "
        "scaled to [0, 1] within the answer plus weight x the attribute scaled to [0, 1] over the index "
        '(true/false count as 1/0), e.g. {"available": 0.2, "popularity": 0.1}.',
    )
    candidates: int = Field(
        100, ge=10, le=2000, description="Documents taken from each retriever (BM25, dense) before fusion."
    )
    dense_words: int = Field(
        128, ge=8, le=512, description="Words of each document (its fields joined) that the sentence model reads."
    )
    rrf_k: float = Field(60.0, gt=0, description="The constant of reciprocal-rank fusion: 1 / (rrf_k + rank).")
    rerank: bool = Field(True, description="Train a LambdaRank re-ranker when the dataset has judgments.")
    min_judged_queries: int = Field(
        50,
        ge=4,
        description="Judged queries needed to train a re-ranker; with fewer, a held-out share is too small to "
        "tell a better re-ranker from luck, and the fusion ranks alone.",
    )
    validation_folds: int = Field(
        3, ge=2, le=10, description="Folds of judged queries that decide whether the re-ranker beats the fusion."
    )
    boosters: int = Field(
        5, ge=1, le=20, description="LambdaRank boosters trained with successive seeds and averaged (steadier)."
    )
    num_trees: int = Field(100, ge=10, le=5000, description="LambdaRank boosting rounds.")
    learning_rate: float = Field(0.05, gt=0, le=1, description="LambdaRank learning rate.")
    num_leaves: int = Field(7, ge=2, le=255, description="Leaves per tree.")
    min_data_in_leaf: int = Field(50, ge=1, description="Rows per leaf, at least.")
    other_trees: list[TreeSettings] = Field(
        default_factory=list,
        description="Other sizes of LambdaRank model the out-of-fold check tries besides num_trees, num_leaves "
        'and min_data_in_leaf, e.g. [{"num_trees": 200, "num_leaves": 15, "min_data_in_leaf": 20}]; each one '
        "adds validation_folds x boosters fits to training.",
    )
    feature_sets: list[FeatureSet] = Field(
        default_factory=lambda: ["scores", "query_normalized"],
        min_length=1,
        description='Features the out-of-fold check tries: "scores" (lexical, dense, fusion, overlap, feedback, '
        'attributes) and "query_normalized" (those, plus the scores standardized within each query\'s candidates).',
    )
    min_similarity: float = Field(
        0.25,
        ge=-1,
        le=1,
        description="A query sharing no word with the index needs at least this dense similarity with some "
        "document to get results; below it the answer is empty with a note (nonsense queries).",
    )
    click_relevance: dict[str, float] = Field(
        default_factory=lambda: {"click": 2.0, "purchase": 4.0},
        description="Relevance given to a document by a feedback event type (a bare label counts as a click).",
    )
    seed: int = Field(0, description="Seed of the query split and of LightGBM.")

    def trees(self) -> list[TreeSettings]:
        """Every size of model tried: the one of num_trees, num_leaves and min_data_in_leaf first."""
        first = TreeSettings(
            num_trees=self.num_trees, num_leaves=self.num_leaves, min_data_in_leaf=self.min_data_in_leaf
        )
        return [first, *(other for other in self.other_trees if other != first)]

    def fields(self, present: Iterable[str]) -> list[str]:
        """The text fields: the explicit ones, else those of title, body and text the dataset has."""
        if self.text_fields is not None:
            return list(self.text_fields)
        names = set(present)
        return [name for name in USUAL_TEXT if name in names]
