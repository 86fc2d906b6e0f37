"""Training parameters of the fraud kind: the event type, the detector's rules, the model's knobs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

VariableType = Literal["numeric", "categorical", "text", "ip", "email", "timestamp", "boolean"]
Outcome = Literal["approve", "review", "block"]
DEFAULT_WINDOWS = [3600, 86400, 7 * 86400, 30 * 86400]


class Rule(BaseModel):
    """One rule: when ``expression`` holds, the event gets ``outcome``; the first matching rule decides.

    Expressions use the rule-engine language over the event's variables and ``score``
    (the calibrated fraud probability), e.g. ``score > 0.9 or (amount > 5000 and country != "NL")``.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expression: str = Field(min_length=1, max_length=2000)
    outcome: Outcome


class FraudParams(BaseModel):
    """How to train a fraud detector.

    Only ``target`` is required. Without ``variables`` the event type is inferred from the
    dataset (numbers → numeric, dates → timestamp, strings → categorical, or email / ip /
    text when every value looks like one). Without ``rules`` the detector blocks above
    the threshold that keeps the false-positive rate at ``block_fpr`` and sends to review
    above the one for ``review_fpr``.

    Examples
    --------
    >>> FraudParams(target="is_fraud").event_type
    'event'
    """

    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, description="The label column (1 / true = fraud).")
    event_type: str = Field("event", min_length=1, max_length=100, description="Name of the event type.")
    entity_column: str | None = Field(
        None, description="The entity (customer, card, account) whose earlier events give behaviour features."
    )
    time_column: str | None = Field(
        None, description="When each event happened: orders the validation split and the entity history."
    )
    variables: dict[str, VariableType] | None = Field(
        None, description="The event type's variables and their types (default: inferred from the dataset)."
    )
    required: list[str] | None = Field(
        None, description="Variables every event must carry (default: the entity and time columns)."
    )
    exclude: list[str] = Field(default_factory=list, description="Columns that are not variables (row ids).")
    amount_column: str | None = Field(
        None, description="Numeric variable summed over the entity's recent windows (e.g. the amount)."
    )
    windows: list[int] = Field(
        default_factory=lambda: list(DEFAULT_WINDOWS),
        min_length=1,
        max_length=8,
        description="Look-back windows in seconds for the entity's counts and amounts.",
    )
    rules: list[Rule] | None = Field(None, description="Ordered rules; the first that matches gives the outcome.")
    default_outcome: Outcome = Field("approve", description="The outcome when no rule matches.")
    block_fpr: float = Field(0.01, gt=0, lt=1, description="False-positive rate of the default block rule.")
    review_fpr: float = Field(0.05, gt=0, lt=1, description="False-positive rate of the default review rule.")
    target_precision: float | None = Field(
        None, gt=0, lt=1, description="Also report the threshold reaching this precision and its catch rate."
    )
    test_size: float = Field(0.2, ge=0.05, le=0.5, description="Fraction of events held out for the metrics.")
    positive_weight: Literal["none", "sqrt", "balanced"] = Field(
        "none",
        description="Imbalance: weight of fraud events (none; sqrt or balanced of the class ratio). "
        "Calibration maps the weighted scores back to probabilities.",
    )
    learners: Literal["lightgbm+catboost", "lightgbm"] = Field(
        "lightgbm+catboost",
        description="LightGBM and CatBoost blended (their log-odds averaged), or LightGBM alone (faster to train).",
    )
    seed: int = Field(0)
    learning_rate: float = Field(0.02, gt=0, le=1)
    num_leaves: int = Field(15, ge=2, le=4096)
    min_child_samples: int = Field(40, ge=1)
    max_rounds: int = Field(3000, ge=1, le=100_000)
    early_stopping_rounds: int = Field(200, ge=1)
    explanations: int = Field(5, ge=0, le=50, description="How many top contributing variables to return.")

    @model_validator(mode="after")
    def _roles_differ(self) -> FraudParams:
        roles = {"target": self.target, "entity_column": self.entity_column, "time_column": self.time_column}
        named = [value for value in roles.values() if value is not None]
        if len(named) != len(set(named)):
            raise ValueError(f"target, entity_column and time_column must be different columns, got {roles}")
        if self.review_fpr < self.block_fpr:
            raise ValueError("review_fpr must be at least block_fpr (review catches more than block)")
        return self
