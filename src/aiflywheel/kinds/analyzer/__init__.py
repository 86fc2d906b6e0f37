"""The ``analyzer`` kind: language, sentiment, entities, key phrases, PII, and custom text classification."""

from aiflywheel.kinds.analyzer.kind import AnalyzerKind
from aiflywheel.kinds.analyzer.params import AnalyzerParams

__all__ = ["AnalyzerKind", "AnalyzerParams"]
