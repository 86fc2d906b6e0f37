"""The ``placement`` kind: learn which offer to show in which slot from logged decisions and rewards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ValidationError

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.placement.example import make_example
from aiflywheel.kinds.placement.features import FeatureMap
from aiflywheel.kinds.placement.params import PlacementParams
from aiflywheel.kinds.placement.policy import LinearPolicy
from aiflywheel.kinds.placement.predictor import INPUT_SCHEMA, OUTPUT_SCHEMA, PlacementPredictor

PRIMARY = Metric("policy_value", True)
USUAL = {"propensity_column": "propensity", "candidates_column": "candidates", "time_column": "timestamp"}
MIN_ROWS = 20


class PlacementKind:
    """A contextual bandit: Thompson sampling or LinUCB over a linear model per offer.

    Examples
    --------
    >>> PlacementKind().Params().epsilon
    0.05
    """

    name: ClassVar[str] = "placement"
    description: ClassVar[str] = "Choose the offer for a slot from context; learns from rewards; logs propensities."
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = PlacementParams
    input_schema: ClassVar[dict[str, Any]] = INPUT_SCHEMA
    output_schema: ClassVar[dict[str, Any]] = OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = PRIMARY

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        p = _params(params)
        names = [column.name for column in columns]
        logical = {column.name: column.logical for column in columns}
        shown = ", ".join(repr(name) for name in names[:50])
        for field in ("slot_column", "offer_column", "reward_column", *USUAL):
            column = getattr(p, field)
            if column is not None and column not in names:
                raise InvalidInput(f"{field} {column!r} is not in the dataset; available: {shown}")
        for column in p.context_columns or []:
            if column not in names:
                raise InvalidInput(f"context column {column!r} is not in the dataset; available: {shown}")
        reward = p.reward_column
        if logical[reward] not in ("numeric", "boolean", "other"):
            raise InvalidInput(f"reward column {reward!r} must hold numbers; it is {logical[reward]}")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Fit on the earliest decisions, replay the latest ones off-policy, then fit on all and save."""
        p = _params(params)
        self.validate(p, data.columns)
        progress(0.0, "reading logged decisions")
        frame, roles = _read(data, p)
        if len(frame) < MIN_ROWS:
            raise InvalidInput(f"{len(frame)} logged decisions with a reward; training needs at least {MIN_ROWS}")
        order = np.argsort(frame["_time"].to_numpy(), kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        cut = int(round(len(frame) * (1 - p.test_size)))
        fit_part, replay_part = frame.iloc[:cut], frame.iloc[cut:]
        progress(0.2, f"fitting on {len(fit_part)} decisions, replaying {len(replay_part)}")
        trial = _build(fit_part, roles, p)
        metrics = _replay(trial, replay_part, roles, p)
        progress(0.7, "fitting on every decision")
        predictor = _build(frame, roles, p)
        predictor.save(Path(workdir))
        progress(1.0, "done")
        metrics.update(n_decisions=len(frame), n_offers=len(predictor.policy.offers), n_slots=len(predictor.slots))
        summary = {
            "policy": p.policy,
            "offers": predictor.policy.offers,
            "slots": {slot: offers for slot, offers in predictor.slots.items()},
            "features": predictor.features.names(),
            "context_columns": roles["context"],
        }
        return TrainResult(metrics, PRIMARY, summary)

    def load(self, workdir: Path) -> PlacementPredictor:
        return PlacementPredictor.load(Path(workdir))

    def evaluate(self, predictor: PlacementPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Off-policy value of ``predictor`` on logged decisions, beside uniform random and the best fixed offer."""
        p = _params(params)
        frame, roles = _read(data, p)
        if frame.empty:
            raise InvalidInput("the dataset has no logged decision with a reward")
        return _replay(predictor, frame, roles, p)

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """Each answered decision as a logged one: slot, offer shown, its propensity, candidates, context, reward.

        The reward is the feedback's ``reward`` (else a numeric or boolean ``outcome`` or ``label``).
        """
        p = _params(params)
        rows = []
        for record in records:
            reward = _reward(record.feedback)
            offer = record.output.get("offer")
            if reward is None or offer is None or record.input.get("slot") is None:
                continue
            context = record.input.get("context") or {}
            row = {name: value for name, value in context.items() if isinstance(value, str | int | float | bool)}
            row[p.slot_column] = str(record.input["slot"])
            row[p.offer_column] = str(offer)
            row[p.reward_column] = reward
            row[p.propensity_column or USUAL["propensity_column"]] = record.output.get("propensity")
            offers = record.input.get("offers")
            if offers:
                row[p.candidates_column or USUAL["candidates_column"]] = "|".join(str(offer) for offer in offers)
            if _moment(record.feedback.get("created_at")) is not None:
                row[p.time_column or USUAL["time_column"]] = _moment(record.feedback["created_at"])
            rows.append(row)
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def _params(params: BaseModel | Mapping[str, Any]) -> PlacementParams:
    if isinstance(params, PlacementParams):
        return params
    raw = params.model_dump() if isinstance(params, BaseModel) else dict(params)
    try:
        return PlacementParams.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"invalid parameters for kind 'placement': {exc}") from exc


def _read(data: TrainingData, p: PlacementParams) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        frame = data.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise KindFailed(f"could not read the dataset at {data.path}: {exc}") from exc
    names = list(frame.columns)
    for column in (p.slot_column, p.offer_column, p.reward_column):
        if column not in names:
            raise InvalidInput(f"column {column!r} is not in the dataset; available: {', '.join(map(repr, names))}")
    roles = {field: getattr(p, field) or (USUAL[field] if USUAL[field] in names else None) for field in USUAL}
    taken = {p.slot_column, p.offer_column, p.reward_column, *[c for c in roles.values() if c]}
    roles["context"] = (
        list(p.context_columns) if p.context_columns is not None else [c for c in names if c not in taken]
    )
    reward = pd.to_numeric(frame[p.reward_column].astype("float64", errors="ignore"), errors="coerce")
    keep = reward.notna() & frame[p.slot_column].notna() & frame[p.offer_column].notna()
    frame = frame.loc[keep].copy()
    frame["_reward"] = reward[keep].astype(float)
    frame["_slot"] = frame[p.slot_column].astype(str)
    frame["_offer"] = frame[p.offer_column].astype(str)
    if roles["time_column"]:
        frame["_time"] = pd.to_datetime(frame[roles["time_column"]], utc=True, errors="coerce", format="mixed")
        if frame["_time"].isna().all() and pd.api.types.is_numeric_dtype(frame[roles["time_column"]]):
            frame["_time"] = frame[roles["time_column"]].astype(float)
        frame["_time"] = frame["_time"].rank(method="first").fillna(0)
    else:
        frame["_time"] = np.arange(len(frame), dtype=float)
    if roles["propensity_column"]:
        propensity = pd.to_numeric(frame[roles["propensity_column"]], errors="coerce")
        bad = propensity.notna() & ((propensity <= 0) | (propensity > 1))
        if bad.any():
            raise InvalidInput(
                f"propensity column {roles['propensity_column']!r} must lie in (0, 1]; "
                f"row {int(np.flatnonzero(bad.to_numpy())[0])} holds {propensity[bad].iloc[0]!r}"
            )
        frame["_propensity"] = propensity
    else:
        frame["_propensity"] = np.nan
    return frame.reset_index(drop=True), roles


def _candidates(frame: pd.DataFrame, roles: dict[str, Any], slots: dict[str, list[str]]) -> list[list[str]]:
    column = roles["candidates_column"]
    out = []
    for position, (slot, offer) in enumerate(zip(frame["_slot"], frame["_offer"], strict=True)):
        listed = frame[column].iloc[position] if column else None
        if isinstance(listed, str) and listed.strip():
            offers = [part.strip() for part in listed.split("|") if part.strip()]
        else:
            offers = list(slots.get(slot, []))
        if offer not in offers:
            offers.append(offer)
        out.append(offers)
    return out


def _build(frame: pd.DataFrame, roles: dict[str, Any], p: PlacementParams) -> PlacementPredictor:
    slots: dict[str, list[str]] = {}
    for slot, offer in zip(frame["_slot"], frame["_offer"], strict=True):
        listed = slots.setdefault(slot, [])
        if offer not in listed:
            listed.append(offer)
    features = FeatureMap.fit(frame, sorted(slots), roles["context"], p.max_levels)
    offers = sorted({offer for listed in slots.values() for offer in listed})
    index = {offer: number for number, offer in enumerate(offers)}
    contexts = frame[roles["context"]].to_dict("records")
    x = np.array([features.vector(s, c) for s, c in zip(frame["_slot"], contexts, strict=True)])
    shown = frame["_offer"].map(index).to_numpy()
    policy = LinearPolicy.fit(
        offers,
        x,
        shown,
        frame["_reward"].to_numpy(),
        p.l2,
        policy=p.policy,
        exploration=p.exploration,
        epsilon=p.epsilon,
    )
    state = {"policy": p.policy, "samples": p.propensity_samples, "seed": p.seed, "slots": slots, "l2": p.l2}
    return PlacementPredictor(policy, features, state)


def _replay(predictor: PlacementPredictor, frame: pd.DataFrame, roles: dict[str, Any], p: PlacementParams) -> dict:
    """Inverse-propensity estimates of reward per decision: the policy, uniform random, the best fixed offer.

    Logged decisions without a propensity are taken as uniform over their candidates. The
    best fixed offer per slot is the one with the highest estimate on these same rows, so
    it is an optimistic bar.
    """
    rng = np.random.default_rng(p.seed)
    candidates = _candidates(frame, roles, predictor.slots)
    logged = frame["_propensity"].to_numpy()
    logged = np.where(np.isnan(logged), [1.0 / len(c) for c in candidates], logged)
    reward = frame["_reward"].to_numpy()
    contexts = frame[roles["context"]].to_dict("records")
    ours, uniform = np.zeros(len(frame)), np.zeros(len(frame))
    for row, (slot, offer, context, offers) in enumerate(
        zip(frame["_slot"], frame["_offer"], contexts, candidates, strict=True)
    ):
        probabilities = predictor.probabilities(slot, offers, context, rng)
        ours[row] = probabilities[offers.index(offer)] / logged[row]
        uniform[row] = (1.0 / len(offers)) / logged[row]
    fixed = {}
    for slot in frame["_slot"].unique():
        rows = (frame["_slot"] == slot).to_numpy()
        values = {
            offer: float(np.sum(reward[rows] * (frame["_offer"].to_numpy()[rows] == offer) / logged[rows]) / rows.sum())
            for offer in frame.loc[rows, "_offer"].unique()
        }
        fixed[slot] = max(values.values())
    weights = frame["_slot"].map(frame["_slot"].value_counts(normalize=True))
    best_fixed = float(sum(fixed[slot] * share for slot, share in weights.groupby(frame["_slot"]).first().items()))
    value = float(np.mean(ours * reward))
    random_value = float(np.mean(uniform * reward))
    return {
        "policy_value": value,
        "policy_value_snips": float(np.sum(ours * reward) / max(np.sum(ours), 1e-12)),
        "uniform_value": random_value,
        "baseline_policy_value": random_value,  # shown beside the policy's value: uniform random is the trivial bar
        "best_fixed_value": best_fixed,
        "lift_vs_uniform": value / random_value - 1.0 if random_value > 0 else 0.0,
        "lift_vs_best_fixed": value / best_fixed - 1.0 if best_fixed > 0 else 0.0,
        "logged_value": float(np.mean(reward)),
        "n_replayed": len(frame),
    }


def _moment(value: Any) -> datetime | None:
    """The feedback's time as an aware UTC date-time: the kernel's join casts it to any timestamp column."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _reward(feedback: Mapping[str, Any]) -> float | None:
    for key in ("reward", "outcome", "label"):
        value = feedback.get(key)
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, int | float) and not np.isnan(value):
            return float(value)
    return None
