"""Training parameters of the recommender kind: every default works without tuning."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ALGORITHMS = ("popularity", "item_item", "ease", "als", "bpr")
USUAL_NAMES = {
    "time_column": "timestamp",
    "event_type_column": "event_type",
    "event_value_column": "event_value",
    "category_column": "categories",
    "available_column": "available",
    "price_column": "price",
}
USUAL_TEXT = ("title", "text")


class RecommenderParams(BaseModel):
    """How to train a recommender on one interactions dataset.

    Optional columns default to None, which means their usual name *when the dataset
    has it* (``timestamp``, ``event_type``, ...); a column named explicitly must exist. Rows whose
    user is empty are catalogue rows: they describe an item (text, categories, price,
    availability) without an interaction, so items nobody has touched yet can be
    recommended through their text.

    Examples
    --------
    >>> RecommenderParams().algorithm
    'auto'
    >>> RecommenderParams(user_column="userId").column("time_column", ["userId", "item_id", "timestamp"])
    'timestamp'
    """

    model_config = ConfigDict(extra="forbid")

    user_column: str = Field("user_id", min_length=1, description="Who interacted.")
    item_column: str = Field("item_id", min_length=1, description="With which item.")
    time_column: str | None = Field(
        None,
        description="When (unix seconds, a date-time, or an ISO string); orders each user's history and "
        "the validation split. Default: 'timestamp' when present, else the row order is the time order.",
    )
    event_type_column: str | None = Field(
        None, description="Kind of event (view, click, purchase...); default: 'event_type' when present."
    )
    event_value_column: str | None = Field(
        None,
        description="A number per event (a rating, a quantity) multiplying its weight; "
        "default: 'event_value' when present.",
    )
    event_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight per event type (unknown types weigh 1; 0 drops the type), "
        'e.g. {"view": 1, "click": 2, "purchase": 5}.',
    )
    min_event_value: float | None = Field(
        None, description="Drop interactions whose event value is below this (e.g. ratings under 3)."
    )
    text_columns: list[str] | None = Field(
        None, description="Item text for content similarity (cold-start items); default: title and text, when present."
    )
    category_column: str | None = Field(
        None,
        description="Item categories, '|'-separated, for the category filters; default: 'categories' when present.",
    )
    available_column: str | None = Field(
        None,
        description="Item availability (true/false), for the availability filter; default: 'available' when present.",
    )
    price_column: str | None = Field(
        None, description="Item price; default: 'price' when present. Read, not used for ranking yet."
    )
    algorithm: Literal["auto", "popularity", "item_item", "ease", "als", "bpr"] = Field(
        "auto", description="'auto' picks the best candidate on a time-ordered validation split."
    )
    search: Literal["staged", "full"] = Field(
        "staged",
        description="'staged' scores popularity and EASE at one recency half-life, climbs the half-life of the best, "
        "and tries BM25 item-item, ALS and BPR only when EASE's items hold less than half of the validation "
        "interactions; 'full' scores every candidate at every half-life.",
    )
    refit: Literal["auto", "always"] = Field(
        "auto",
        description="'auto' serves an item-item or EASE winner as fitted for validation when the interactions it "
        "did not see add under 25% and fewer than 1% of them are on items it never saw; 'always' refits the "
        "winner on every interaction.",
    )
    validation_items: int = Field(
        5, ge=1, le=100, description="Each user's latest interactions held out for validation and for the test."
    )
    max_eval_users: int = Field(2000, ge=10, description="Users sampled for validation and test metrics.")
    max_dense_items: int = Field(
        2000,
        ge=10,
        le=20000,
        description="EASE's item-item matrix covers at most this many most-interacted items (time and memory grow "
        "with its square and cube).",
    )
    recency_half_life: float | None = Field(
        None,
        gt=0,
        description="Half-life, in a user's own interactions, of the weight of older history in item-item "
        "scores; None searches it on the validation split.",
    )
    cold_item_slots: int = Field(
        1, ge=0, le=100, description="Slots per list that may go to items without interactions (content match)."
    )
    cold_item_min_similarity: float = Field(
        0.35, ge=-1, le=1, description="A cold item needs at least this text similarity to take a slot."
    )
    seed: int = Field(0, description="Seed of sampling and of the matrix factorisations.")

    def column(self, field: str, present: Iterable[str]) -> str | None:
        """The column ``field`` names: the explicit one, else its usual name if the dataset has it."""
        explicit = getattr(self, field)
        if explicit is not None:
            return explicit
        usual = USUAL_NAMES[field]
        return usual if usual in set(present) else None

    def texts(self, present: Iterable[str]) -> list[str]:
        """The item text columns: the explicit ones, else those of ``title`` and ``text`` the dataset has."""
        if self.text_columns is not None:
            return list(self.text_columns)
        names = set(present)
        return [name for name in USUAL_TEXT if name in names]
