"""Training parameters of the forecaster kind: every default works without tuning."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ModelName = Literal["auto_ets", "auto_theta", "auto_arima", "seasonal_naive", "croston", "adida", "imapa", "lightgbm"]
STATISTICAL: tuple[str, ...] = ("auto_ets", "auto_theta", "auto_arima", "seasonal_naive", "croston", "adida", "imapa")
GLOBAL = "lightgbm"
DEFAULT_MODELS: list[str] = [
    "auto_ets",
    "auto_theta",
    "auto_arima",
    "seasonal_naive",
    "croston",
    "adida",
    "imapa",
    "lightgbm",
]


class ForecasterParams(BaseModel):
    """How to train a forecaster on a long table of (series id, timestamp, value) rows.

    Nothing is required: the columns default to ``series_id``, ``timestamp`` and
    ``value``, the frequency and season length are inferred from the timestamps, and
    the horizon defaults to two seasons (at least 6 steps).

    Examples
    --------
    >>> ForecasterParams().quantiles
    [0.1, 0.5, 0.9]
    >>> ForecasterParams(target="sales", covariates=["price"]).selection
    'ensemble'
    """

    model_config = ConfigDict(extra="forbid")

    id_column: str = Field("series_id", min_length=1, description="The column naming each series.")
    time_column: str = Field("timestamp", min_length=1, description="Dates/times, or integer periods.")
    target: str = Field("value", min_length=1, description="The numeric column to forecast.")
    covariates: list[str] = Field(
        default_factory=list,
        description="Numeric columns known in advance (price, promotion, holiday). Only the global LightGBM "
        "model uses them. Rows after a series' last value that carry covariates but no value give the "
        "future covariates; otherwise the last known values are carried forward.",
    )
    static_columns: list[str] = Field(
        default_factory=list, description="Attributes constant within a series (store, category); global model only."
    )
    frequency: str | None = Field(
        None, description="A pandas offset alias ('D', 'W-SUN', 'MS', 'h'); default: inferred from the timestamps."
    )
    season_length: int | None = Field(None, ge=1, le=10_000, description="Default: from the frequency (12 monthly).")
    horizon: int | None = Field(
        None, ge=1, le=1_000, description="The longest forecast served; default: two seasons, at least 6."
    )
    models: list[ModelName] = Field(
        default_factory=lambda: list(DEFAULT_MODELS), min_length=1, description="Candidate models."
    )
    selection: Literal["ensemble", "per_series", "best", "mean"] = Field(
        "ensemble",
        description="'ensemble': the mean of the `ensemble_size` models that rank best in the rolling-origin "
        "backtest over all series of the same type (smooth or intermittent); 'per_series': the mean of the "
        "`ensemble_size` models with the lowest backtest error on each series; 'best': each series' single best "
        "model; 'mean': every candidate. Croston, ADIDA and IMAPA are candidates only for intermittent series "
        "(at least 30% zeros).",
    )
    ensemble_size: int = Field(4, ge=1, le=8, description="Models averaged by 'ensemble' and 'per_series'.")
    backtest_windows: int = Field(1, ge=1, le=10, description="Rolling-origin backtest windows of `horizon` steps.")
    quantiles: list[float] = Field(
        default_factory=lambda: [0.1, 0.5, 0.9], min_length=1, description="Quantiles served by default."
    )
    duplicates: Literal["reject", "sum", "mean", "last"] = Field(
        "reject", description="Two rows of one series at one timestamp: an error, or combined this way."
    )
    gaps: Literal["zero", "interpolate", "forward", "reject"] = Field(
        "zero",
        description="Missing periods inside a series: zero (demand data usually omits periods without sales), "
        "linear interpolation, the last value carried forward, or an error.",
    )
    n_jobs: int = Field(0, ge=0, le=1024, description="Processes fitting series in parallel; 0 = the job's cores.")
    seed: int = Field(0, description="Seed of LightGBM.")

    @field_validator("quantiles")
    @classmethod
    def _quantiles_inside(cls, value: list[float]) -> list[float]:
        for q in value:
            if not 0.0 < q < 1.0:
                raise ValueError(f"each quantile must lie strictly between 0 and 1, got {q}")
        return sorted(set(value))

    @field_validator("models")
    @classmethod
    def _unique_models(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _roles_do_not_overlap(self) -> ForecasterParams:
        core = {self.id_column, self.time_column, self.target}
        if len(core) < 3:
            raise ValueError("id_column, time_column and target must be three different columns")
        for name in [*self.covariates, *self.static_columns]:
            if name in core:
                raise ValueError(f"column {name!r} is the id, time or target column; it cannot be a covariate too")
        both = set(self.covariates) & set(self.static_columns)
        if both:
            raise ValueError(f"columns {sorted(both)} cannot be both covariates and static columns")
        return self
