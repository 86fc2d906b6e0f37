"""Training parameters of the recommender kind: every default works without tuning."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ALGORITHMS = ("popularity", "item_item", "ease", "als", "bpr")


class RecommenderParams(BaseModel):
    """How to train a recommender on one interactions dataset.

    Columns are optional where the default says "when present": a default column the
    dataset lacks is ignored, while a column named explicitly must exist. Rows whose
    user is empty are catalogue rows: they describe an item (text, categories, price,
    availability) without an interaction, so items nobody has touched yet can be
    recommended through their text.

    Examples
    --------
    >>> RecommenderParams().algorithm
    'auto'
    >>> RecommenderParams(user_column="userId", item_column="movieId").time_column
    'timestamp'
    """

    model_config = ConfigDict(extra="forbid")

    user_column: str = Field("user_id", min_length=1, description="Who interacted.")
    item_column: str = Field("item_id", min_length=1, description="With which item.")
    time_column: str | None = Field(
        "timestamp",
        description="When (unix seconds, a date-time, or an ISO string); orders each user's history and "
        "the validation split. None, or absent by default: the row order is the time order.",
    )
    event_type_column: str | None = Field("event_type", description="Kind of event (view, click, purchase...).")
    event_value_column: str | None = Field(
        "event_value", description="A number per event (a rating, a quantity); multiplies the event's weight."
    )
    event_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight per event type (unknown types weigh 1; 0 drops the type), "
        'e.g. {"view": 1, "click": 2, "purchase": 5}.',
    )
    min_event_value: float | None = Field(
        None, description="Drop interactions whose event value is below this (e.g. ratings under 3)."
    )
    text_columns: list[str] = Field(
        default_factory=lambda: ["title", "text"],
        description="Item text for content similarity (cold-start items), when present.",
    )
    category_column: str | None = Field(
        "categories", description="Item categories, '|'-separated, when present; used by category filters."
    )
    available_column: str | None = Field(
        "available", description="Item availability (true/false), when present; used by the availability filter."
    )
    price_column: str | None = Field("price", description="Item price, when present; returned with each item.")
    algorithm: Literal["auto", "popularity", "item_item", "ease", "als", "bpr"] = Field(
        "auto", description="'auto' picks the best candidate on a time-ordered validation split."
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
