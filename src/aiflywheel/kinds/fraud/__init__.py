"""The ``fraud`` kind: typed events, entity behaviour, a calibrated LightGBM model, rules and outcomes."""

from aiflywheel.kinds.fraud.kind import FraudKind
from aiflywheel.kinds.fraud.params import FraudParams, Rule
from aiflywheel.kinds.fraud.predictor import FraudPredictor

__all__ = ["FraudKind", "FraudParams", "FraudPredictor", "Rule"]
