"""Applying a flywheel decision: stage changes, traffic, the policy's state and the event, in one transaction.

Either all of it commits or none does, so a crash can never leave a model half
promoted, a trial without its traffic, or a decision without its record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiflywheel.kernel.flywheel import events
from aiflywheel.kernel.flywheel.evaluation import Comparison
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.flywheel.policies import PolicyState, PolicyView, write_state
from aiflywheel.kernel.registry import ModelVersion, Stage

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform


@dataclass
class Decision:
    type: EventType
    reason: str
    details: dict[str, Any]
    champion: ModelVersion | None = None  # as it was when the decision was taken
    challenger: ModelVersion | None = None
    stages: tuple[tuple[ModelVersion, Stage], ...] = ()
    challenger_mode: str | None = None  # set the endpoint's challenger traffic to this
    challenger_share: float | None = None


def apply(platform: Platform, view: PolicyView, state: PolicyState, decision: Decision, job_id: int | None) -> None:
    with platform.engine.begin() as conn:
        for version, stage in decision.stages:
            platform.models.set_stage(conn, version, stage)
        if decision.challenger_mode is not None:
            platform.endpoints.route_challenger(
                conn, view.endpoint_id, decision.challenger_mode, decision.challenger_share
            )
        write_state(conn, view, state)
        events.record(
            conn,
            platform.project_id,
            view.endpoint_id,
            view.endpoint,
            decision.type,
            decision.reason,
            decision.details,
            job_id=job_id,
            champion_version_id=decision.champion.id if decision.champion else None,
            challenger_version_id=decision.challenger.id if decision.challenger else None,
        )


def finished_job(state: PolicyState, job_id: int | None) -> PolicyState:
    """The state with ``job_id`` no longer in flight."""
    return state.model_copy(update={"job_id": None}) if state.job_id == job_id else state


def shortfall(comparison: Comparison, min_gain: float) -> str | None:
    """Why a challenger does not win by ``min_gain``, or None when it does (strictly better, by the margin)."""
    if comparison.problem:
        return f"not judged: {comparison.problem}"
    gain = comparison.gain
    if gain <= 0 or gain < min_gain:
        verdict = describe(comparison.metric, comparison.numbers())
        return f"{verdict} on {comparison.rows} rows; the rule needs a gain of at least {min_gain}"
    return None


def describe(metric: str, comparison_numbers: dict[str, Any]) -> str:
    champion = comparison_numbers["champion"].get(metric)
    challenger = comparison_numbers["challenger"].get(metric)
    gain = comparison_numbers.get("gain")
    return f"{metric} {fmt(challenger)} against the champion's {fmt(champion)} (gain {fmt(gain, signed=True)})"


def fmt(value: Any, signed: bool = False) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "n/a"
    return f"{value:+.4f}" if signed else f"{value:.4f}"
