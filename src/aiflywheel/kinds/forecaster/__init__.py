"""The ``forecaster`` kind: demand forecasting with statsforecast, mlforecast and LightGBM."""

from aiflywheel.kinds.forecaster.kind import ForecasterKind
from aiflywheel.kinds.forecaster.params import ForecasterParams
from aiflywheel.kinds.forecaster.predictor import ForecasterPredictor

__all__ = ["ForecasterKind", "ForecasterParams", "ForecasterPredictor"]
