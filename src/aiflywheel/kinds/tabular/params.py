"""Training parameters of the tabular kind: every default works without tuning."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TabularParams(BaseModel):
    """How to train a tabular model.

    Only ``target`` is required. ``task="auto"`` picks classification for a
    non-numeric or boolean target, or a numeric one with at most 20 distinct
    integer values, and regression otherwise.

    Examples
    --------
    >>> TabularParams(target="FraudFound_P").task
    'auto'
    """

    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, description="The column to predict.")
    task: Literal["auto", "binary", "multiclass", "regression"] = Field(
        "auto", description="The learning task; 'auto' infers it from the target column."
    )
    exclude: list[str] = Field(default_factory=list, description="Columns never used as features.")
    test_size: float = Field(0.2, ge=0.05, le=0.5, description="Fraction of rows held out for the metrics.")
    time_column: str | None = Field(
        None,
        description="Order rows by this column and hold out the latest ones; only its month, day, "
        "weekday and hour are used as features.",
    )
    positive_class: str | None = Field(
        None,
        description="Binary tasks: the class whose probability is the score (default: the greater "
        "of the two classes in sort order, e.g. 1, True or 'yes').",
    )
    seed: int = Field(0, description="Seed of the splits and of LightGBM.")
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(31, ge=2, le=131072)
    max_rounds: int = Field(2000, ge=1, le=100_000, description="Upper bound on boosting rounds.")
    early_stopping_rounds: int = Field(100, ge=1, description="Stop after this many rounds without gain.")
    min_child_samples: int = Field(20, ge=1, description="Minimum rows in a leaf.")
