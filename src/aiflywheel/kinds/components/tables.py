"""What table-trained kinds (tabular, fraud) do alike at their boundary: coerce params, read the dataset,
list column names in an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ValidationError

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kernel.kinds import TrainingData

P = TypeVar("P", bound=BaseModel)


def coerce_params(params: BaseModel | Mapping[str, Any], model: type[P], kind: str) -> P:
    """``params`` as the kind's own model (another model or a dict is validated again)."""
    if isinstance(params, model):
        return params
    raw = params.model_dump() if isinstance(params, BaseModel) else dict(params)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"invalid parameters for kind {kind!r}: {exc}") from exc


def read_frame(data: TrainingData) -> pd.DataFrame:
    try:
        return data.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise KindFailed(f"could not read the dataset at {data.path}: {exc}") from exc


def listing(names: list[str], limit: int = 50) -> str:
    """Column names for an error message, at most ``limit`` of them."""
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")
