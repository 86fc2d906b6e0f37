"""The ``recommender`` kind: top-n, related items and re-ranking from interactions, with real-time events."""

from aiflywheel.kinds.recommender.kind import RecommenderKind
from aiflywheel.kinds.recommender.params import RecommenderParams
from aiflywheel.kinds.recommender.predictor import RecommenderPredictor

__all__ = ["RecommenderKind", "RecommenderParams", "RecommenderPredictor"]
