"""The ``bot`` kind: conversational bots from a YAML/JSON definition (intents, slots, dialog, fulfilment)."""

from aiflywheel.kinds.bot.kind import BotKind
from aiflywheel.kinds.bot.params import BotParams
from aiflywheel.kinds.bot.predictor import BotPredictor

__all__ = ["BotKind", "BotParams", "BotPredictor"]
