"""Fraud labels as they arrive in datasets and feedback: 1/0, true/false, yes/no, fraud/legitimate."""

from __future__ import annotations

import math
from typing import Any

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.values import is_missing, to_flag

_FRAUD = frozenset({"fraud", "fraudulent", "chargeback"})
_LEGITIMATE = frozenset({"legitimate", "legit", "genuine", "ok", "not_fraud"})


def to_label(value: Any, name: str, row: int) -> float:
    """1.0 for fraud, 0.0 for legitimate, NaN when missing; ``InvalidInput`` names the row otherwise."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, str) and value.strip().lower() in _FRAUD:
        return 1.0
    if isinstance(value, str) and value.strip().lower() in _LEGITIMATE:
        return 0.0
    try:
        return to_flag(value)
    except ValueError as exc:
        raise InvalidInput(f"row {row}: label {name!r} {exc} (or fraud / legitimate)") from exc
