"""Training parameters of a bot: its definition, and how cautious the out-of-scope detector is."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aiflywheel.kinds.bot.definition import load_definition


class BotParams(BaseModel):
    """``definition`` is the bot (see docs/bots.md); the defaults of the rest need no tuning."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] = Field(
        default_factory=lambda: {"intents": [{"name": "hello", "samples": ["hello", "hi there"], "response": "Hi!"}]},
        description="The bot definition (the YAML/JSON document validated by bot.schema.json)",
    )
    in_scope_rejection: float = Field(
        0.04,
        gt=0.0,
        lt=0.5,
        description="Share of in-scope utterances the out-of-scope threshold may reject, calibrated on training data",
    )
    out_of_scope_recall: float = Field(
        0.85,
        gt=0.0,
        lt=1.0,
        description="Share of the definition's fallback samples the threshold rejects (when it has 20 or more)",
    )
    text_column: str = "text"
    intent_column: str = "intent"

    @field_validator("definition")
    @classmethod
    def _valid_definition(cls, value: dict[str, Any]) -> dict[str, Any]:
        load_definition(value)  # raises InvalidInput naming the bad field's path
        return value
