"""The demo food-ordering bot for the conformance suite: its definition, a few extra utterances, a correction."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample
from aiflywheel.kinds.bot.definition import parse_text


def demo_definition() -> dict[str, Any]:
    """The food-ordering bot shipped as ``food.yaml``."""
    return parse_text(files(__package__).joinpath("food.yaml").read_text(encoding="utf-8"), "food.yaml")


def make_example() -> KindExample:
    train = pa.table(
        {
            "text": ["could you send a pizza my way", "what hours do you keep", "what's the weather like"],
            "intent": ["order_food", "opening_hours", "fallback"],
        }
    )
    feedback = [
        FeedbackRecord(
            input={"text": "i fancy some noodles"},
            output={"intent": "fallback", "confidence": 0.3},
            feedback={"label": "order_food"},
        )
    ]
    return KindExample(
        train=train,
        params={"definition": demo_definition()},
        batch=[{"text": "i would like to order two pizzas"}, {"text": "when do you open"}],
        bad_batch=[{"text": ""}],
        bad_params={"in_scope_rejection": 2},
        feedback=feedback,
    )
