"""The ``placement`` kind: a contextual bandit choosing which offer to show in a slot, with propensities."""

from aiflywheel.kinds.placement.kind import PlacementKind
from aiflywheel.kinds.placement.params import PlacementParams
from aiflywheel.kinds.placement.predictor import PlacementPredictor

__all__ = ["PlacementKind", "PlacementParams", "PlacementPredictor"]
