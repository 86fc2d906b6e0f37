"""A flywheel policy: when an endpoint retrains, what it trains on, and how a challenger wins.

Every field has a default that works, so ``FlywheelPolicy()`` is a sensible policy:
retrain after every 200 new labelled predictions or when the inputs drift, train the
champion's kind and params on its base dataset plus all feedback so far, and promote
automatically when the challenger beats the champion on the evaluation set.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aiflywheel.errors import InvalidInput

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> float | None:
    """Seconds from a number or a text such as ``"90s"``, ``"30m"``, ``"6h"``, ``"1d"``, ``"2w"``."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off", "none")):
        return None
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a text like '30m', '6h', '1d'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).lower())
        if not match:
            raise ValueError(f"{value!r} is not a duration: use seconds or a text like '30m', '6h', '1d'")
        seconds = float(match.group(1)) * _SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Triggers(_Strict):
    """When to retrain. Any trigger that fires starts one retrain; ``flywheel retrain`` always can."""

    every_n_labels: int | None = Field(
        200, ge=1, description="retrain after this many new labelled predictions; null: off"
    )
    schedule: float | None = Field(None, description="retrain at least this often (seconds, or '6h', '1d'); null: off")
    drift_threshold: float | None = Field(
        0.25,
        gt=0,
        description="retrain when a feature's drift score (PSI, or the KS statistic) reaches this; null: off",
    )
    drift_method: Literal["psi", "ks"] = Field("psi", description="population stability index or Kolmogorov-Smirnov")
    drift_window: int = Field(1000, ge=50, le=100_000, description="compare the last this many logged inputs")
    drift_check_every: float = Field(300.0, description="seconds between drift checks (or '5m')")

    @field_validator("schedule", "drift_check_every", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return parse_duration(value)


class Recipe(_Strict):
    """What a retrain trains: by default the champion's kind and params, on its base dataset plus feedback."""

    params: dict[str, Any] | None = Field(None, description="training params; null: the champion's")
    base_dataset: str | None = Field(
        None, description="'name' or 'name:version' the feedback is added to; null: the champion's original dataset"
    )
    include_feedback: bool = Field(True, description="add the endpoint's labelled predictions as training rows")
    feedback_window: float | None = Field(
        None, description="only feedback on predictions made within this time (seconds, or '30d'); null: all"
    )

    @field_validator("feedback_window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return parse_duration(value)


class PromotionRule(_Strict):
    """How a challenger wins: a better metric on the evaluation set, by a margin, on enough rows."""

    metric: str | None = Field(None, description="metric to compare; null: the champion's primary metric")
    min_gain: float = Field(0.001, ge=0, description="how much better the challenger must be (in metric units)")
    holdout_dataset: str | None = Field(
        None, description="a fixed labelled holdout ('name' or 'name:version') both models are scored on"
    )
    recent_feedback_share: float = Field(
        0.25, ge=0, le=0.9, description="share of the newest labelled feedback kept out of training for evaluation"
    )
    recent_feedback_max: int = Field(2000, ge=0, description="at most this many newest feedback rows for evaluation")
    min_samples: int = Field(100, ge=1, description="fewest evaluation rows a decision may rest on")
    approval: Literal["auto", "manual"] = Field("auto", description="manual: a winner waits for `flywheel approve`")
    online: Literal["off", "split", "shadow"] = Field(
        "off", description="after winning offline, try the challenger on live traffic before promoting"
    )
    online_share: float = Field(0.2, gt=0, le=1, description="split: share of requests the challenger answers")
    online_min_samples: int = Field(100, ge=1, description="labelled live predictions each model needs in a trial")
    rollback_margin: float | None = Field(
        0.02, ge=0, description="roll back a new champion whose live metric falls this far below its predecessor's"
    )
    rollback_min_samples: int = Field(200, ge=1, description="labelled live predictions before judging a rollback")


class FlywheelPolicy(_Strict):
    enabled: bool = True
    triggers: Triggers = Field(default_factory=Triggers)
    recipe: Recipe = Field(default_factory=Recipe)
    promotion: PromotionRule = Field(default_factory=PromotionRule)


def parse_policy(raw: dict[str, Any]) -> FlywheelPolicy:
    """Validate a policy; the error names the field, what was wrong and the value given."""
    try:
        return FlywheelPolicy.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "policy"
            given = f" (got {error['input']!r})" if "input" in error and not isinstance(error["input"], dict) else ""
            problems.append(f"{where}: {error['msg']}{given}")
        raise InvalidInput("invalid flywheel policy: " + "; ".join(problems)) from exc


def merge(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` applied section by section (a partial update)."""
    merged = dict(current)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
