"""Champion against challenger: both models scored by their kind on the same labelled rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from aiflywheel.errors import FlywheelError
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import Kind, TrainingData
from aiflywheel.kernel.registry import ModelVersion

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform


@dataclass
class Comparison:
    """Both models' metrics on one evaluation set, and what they say under the promotion rule."""

    metric: str
    greater_is_better: bool
    rows: int
    champion: dict[str, Any] = field(default_factory=dict)
    challenger: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # why the comparison could not be made, if it could not

    @property
    def gain(self) -> float | None:
        """How much better the challenger is, in metric units (positive: better, whichever the direction)."""
        before, after = self.champion.get(self.metric), self.challenger.get(self.metric)
        if not _number(before) or not _number(after):
            return None
        return (after - before) if self.greater_is_better else (before - after)

    def numbers(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "greater_is_better": self.greater_is_better,
            "rows": self.rows,
            "champion": self.champion,
            "challenger": self.challenger,
            "gain": self.gain,
            **({"problem": self.problem} if self.problem else {}),
        }


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def as_training_data(table: pa.Table, workdir: Path) -> TrainingData:
    """A table typed the way datasets are (``ingest``), for a kind to evaluate on."""
    workdir.mkdir(parents=True, exist_ok=True)
    raw = workdir / "rows.parquet"
    pq.write_table(table, raw)
    typed = ingest(raw, workdir / "typed", format="parquet")
    return TrainingData(path=typed.path, columns=typed.columns)


def compare(
    platform: Platform,
    kind: Kind,
    params: BaseModel,
    champion: ModelVersion,
    challenger: ModelVersion,
    data: TrainingData,
    rows: int,
    metric: str,
    greater_is_better: bool,
    champion_data: TrainingData | None = None,
) -> Comparison:
    """Score both versions on ``data``; the champion on ``champion_data`` instead if given (a split trial)."""
    result = Comparison(metric=metric, greater_is_better=greater_is_better, rows=rows)
    try:
        result.champion = _rounded(kind.evaluate(platform.predictor(champion), champion_data or data, params))
        result.challenger = _rounded(kind.evaluate(platform.predictor(challenger), data, params))
    except FlywheelError as exc:
        result.problem = f"the evaluation failed: {exc.message}"
        return result
    if result.gain is None:
        result.problem = (
            f"metric {metric!r} could not be computed for both models on {rows} rows "
            f"(computed: {', '.join(sorted(k for k, v in result.challenger.items() if _number(v))) or 'none'})"
        )
    return result


def _rounded(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: round(value, 6) if isinstance(value, float) else value for key, value in metrics.items()}
