"""Training parameters of the placement kind: every default works without tuning."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PlacementParams(BaseModel):
    """How to learn which offer to place in which slot, from logged decisions and their rewards.

    Examples
    --------
    >>> PlacementParams().policy
    'thompson'
    """

    model_config = ConfigDict(extra="forbid")

    slot_column: str = Field("slot", min_length=1, description="Where the offer was shown.")
    offer_column: str = Field("offer", min_length=1, description="The offer that was shown.")
    reward_column: str = Field("reward", min_length=1, description="What it earned: 1/0 for a click, or a value.")
    propensity_column: str | None = Field(
        None,
        description="The probability the logging policy gave the shown offer; default: 'propensity' when present, "
        "else uniform over the candidates.",
    )
    candidates_column: str | None = Field(
        None,
        description="The '|'-separated offers that could have been shown; default: 'candidates' when present, "
        "else every offer seen in the slot.",
    )
    time_column: str | None = Field(
        None, description="Orders decisions for the replay split; default: 'timestamp' when present, else row order."
    )
    context_columns: list[str] | None = Field(None, description="Context features; default: every other column.")
    policy: Literal["thompson", "linucb"] = Field(
        "thompson", description="Thompson sampling, or LinUCB with epsilon-greedy exploration on top."
    )
    exploration: float = Field(
        1.0, gt=0, le=10, description="Thompson: posterior scale; LinUCB: alpha, the width of the confidence bonus."
    )
    epsilon: float = Field(0.05, ge=0, le=1, description="LinUCB: share of decisions made uniformly at random.")
    l2: float = Field(1.0, gt=0, description="Ridge prior of each offer's linear model.")
    test_size: float = Field(0.3, ge=0.05, le=0.5, description="Latest share of decisions kept for the replay.")
    max_levels: int = Field(20, ge=1, le=1000, description="Most frequent levels one-hot encoded per text column.")
    propensity_samples: int = Field(200, ge=10, le=10_000, description="Thompson draws to estimate a propensity.")
    seed: int = Field(0, description="Seed of the sampling.")
