"""The ``tabular`` kind: classification and regression on tables with automatic features and LightGBM."""

from aiflywheel.kinds.tabular.kind import TabularKind
from aiflywheel.kinds.tabular.params import TabularParams
from aiflywheel.kinds.tabular.predictor import TabularPredictor

__all__ = ["TabularKind", "TabularParams", "TabularPredictor"]
