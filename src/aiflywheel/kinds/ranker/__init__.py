"""The ``ranker`` kind: hybrid lexical + semantic search, re-ranked by LambdaRank from judgments and clicks."""

from aiflywheel.kinds.ranker.kind import RankerKind
from aiflywheel.kinds.ranker.params import RankerParams
from aiflywheel.kinds.ranker.predictor import RankerPredictor

__all__ = ["RankerKind", "RankerParams", "RankerPredictor"]
