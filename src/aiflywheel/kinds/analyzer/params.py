"""The analyzer's parameters: limits, which languages get the full analysis, and the custom classifier's training."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AnalyzerParams(BaseModel):
    """Defaults give the built-in service; a dataset of labelled texts adds a custom classifier."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(5000, ge=1, le=1_000_000, description="Longest text accepted, in characters.")
    languages: list[Literal["en"]] = Field(
        default_factory=lambda: ["en"],
        description="Languages analysed in full (sentiment, entities, key phrases); others are refused with a 4xx.",
    )
    max_key_phrases: int = Field(10, ge=0, le=100)
    pii_types: list[Literal["email", "phone", "card", "address", "name"]] = Field(
        default_factory=lambda: ["email", "phone", "card", "address", "name"]
    )
    # Training: texts and their labels become a classifier served as "category", or, with
    # target "sentiment", a sentiment head that replaces the built-in one.
    target: Literal["category", "sentiment"] = "category"
    text_column: str = "text"
    label_column: str = "label"
    regularization: float = Field(1.0, gt=0, description="Inverse L2 strength (C) of the logistic-regression head.")
    holdout: float = Field(0.2, ge=0.05, le=0.5, description="Share of labelled texts held out to measure accuracy.")
    seed: int = 0
