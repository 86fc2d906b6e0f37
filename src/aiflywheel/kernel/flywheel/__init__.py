"""The data flywheel: feedback becomes training data, a challenger is judged, the better model serves.

``Flywheel`` is the front door for one project (``platform.flywheel``): policies, a
retrain by hand, approvals and the history. ``FlywheelLoop`` (``loop.py``) is what
turns it with no manual step; the jobs it starts are ``retrain.py`` and ``review.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from aiflywheel.errors import Conflict
from aiflywheel.kernel.flywheel.decisions import Decision, apply
from aiflywheel.kernel.flywheel.events import Events, EventType, FlywheelEvent
from aiflywheel.kernel.flywheel.join import count_labelled, last_feedback_id
from aiflywheel.kernel.flywheel.loop import FlywheelLoop, job_in_flight, start_retrain
from aiflywheel.kernel.flywheel.policies import Policies, PolicyState, PolicyView
from aiflywheel.kernel.flywheel.policy import FlywheelPolicy
from aiflywheel.kernel.flywheel.retrain import promotion
from aiflywheel.kernel.jobs import Job
from aiflywheel.kernel.registry import Stage

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform

# A person's request that meets the loop's own write of the state is decided again this many times in all.
MANUAL_ATTEMPTS = 3

__all__ = ["Flywheel", "FlywheelEvent", "FlywheelLoop", "FlywheelPolicy", "FlywheelStatus", "PolicyState"]


class FlywheelStatus(BaseModel):
    """An endpoint's policy, the loop's state for it, and what is pending."""

    endpoint: str
    model: str
    policy: FlywheelPolicy
    state: PolicyState
    new_labels: int  # labelled predictions no retrain has used yet
    job: Job | None


class Flywheel:
    """The flywheel of one project's endpoints."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.policies = Policies(platform.engine, platform.project_id)
        self.events = Events(platform.engine, platform.project_id)

    def status(self, endpoint: str) -> FlywheelStatus:
        found = self.platform.endpoints.get(endpoint)
        return self._status(self.policies.require(found))

    def _status(self, view: PolicyView) -> FlywheelStatus:
        endpoint = self.platform.endpoints.get(view.endpoint)
        new = count_labelled(self.platform.engine, self.platform.project_id, endpoint.id, view.state.feedback_mark)
        return FlywheelStatus(
            endpoint=endpoint.name,
            model=endpoint.model,
            policy=view.policy,
            state=view.state,
            new_labels=new,
            job=job_in_flight(self.platform, view.state),
        )

    def set_policy(self, endpoint: str, changes: dict[str, Any], replace: bool = False) -> FlywheelStatus:
        """Create or change the endpoint's policy: ``changes`` on the current one (or the defaults)."""
        return self._status(self.policies.set(self.platform.endpoints.get(endpoint), changes, replace=replace))

    def delete_policy(self, endpoint: str) -> None:
        self.policies.delete(self.platform.endpoints.get(endpoint))

    def retrain(self, endpoint: str) -> Job:
        """Start a retrain now, whatever the triggers say (a policy with triggers off is made if none exists)."""
        found = self.platform.endpoints.get(endpoint)
        if self.platform.models.champion(found.model) is None:
            raise Conflict(f"endpoint {endpoint!r}: model {found.model!r} has no champion to retrain")
        # The loop writes this state too (what its triggers saw), so a write can land between our read and
        # ours: the request is then decided again on the new state instead of refused.
        attempts_left = MANUAL_ATTEMPTS
        while True:
            view = self.policies.ensure(found)
            running = job_in_flight(self.platform, view.state)
            if running is not None:
                in_flight = f"flywheel job {running.id} ({running.type})"
                raise Conflict(f"endpoint {endpoint!r} already has {in_flight} in flight")
            if view.state.job_id is not None:  # it ended: release it before starting another
                view = view.model_copy(update={"state": view.state.model_copy(update={"job_id": None})})
            try:
                return start_retrain(self.platform, view, {"type": "manual"}, "retrain started by hand")
            except Conflict:
                attempts_left -= 1
                if attempts_left == 0:
                    raise

    def history(self, endpoint: str, limit: int = 200) -> list[FlywheelEvent]:
        return self.events.list(self.platform.endpoints.get(endpoint).id, limit=limit)

    def approve(self, endpoint: str) -> FlywheelEvent:
        """Promote the challenger that won and waits for approval."""
        return self._settle_approval(endpoint, approve=True)

    def reject(self, endpoint: str) -> FlywheelEvent:
        """Archive the challenger that waits for approval."""
        return self._settle_approval(endpoint, approve=False)

    def _settle_approval(self, endpoint: str, approve: bool) -> FlywheelEvent:
        found = self.platform.endpoints.get(endpoint)
        view = self.policies.require(found)
        if view.state.awaiting_approval is None:
            raise Conflict(f"endpoint {endpoint!r} has no challenger waiting for approval")
        challenger = self.platform.models.by_id(view.state.awaiting_approval)
        champion = self.platform.models.champion(found.model)
        waiting = next(
            (e for e in reversed(self.history(endpoint)) if e.type == EventType.AWAITING_APPROVAL),
            None,
        )
        details = {"approved": approve, "decision": waiting.details if waiting else {}}
        common = {"details": details, "champion": champion, "challenger": challenger}
        state = view.state.model_copy(update={"awaiting_approval": None})
        if challenger.stage != Stage.CHALLENGER or champion is None:
            decision = Decision(
                EventType.REJECTED, f"{challenger.ref} is {challenger.stage} now; nothing to approve", **common
            )
        elif approve:
            decision, state = promotion(
                view.model_copy(update={"policy": _auto(view.policy)}),
                state,
                champion,
                challenger,
                "approved by hand" + (f" after it won: {waiting.reason}" if waiting else ""),
                common,
                last_feedback_id(self.platform.engine, self.platform.project_id),
            )
        else:
            decision = Decision(
                EventType.REJECTED,
                f"{challenger.ref} rejected by hand",
                stages=((challenger, Stage.ARCHIVED),),
                **common,
            )
        apply(self.platform, view, state, decision, job_id=None)
        return self.history(endpoint, limit=1)[-1]


def _auto(policy: FlywheelPolicy) -> FlywheelPolicy:
    """The policy as if it promoted automatically (an approval is that promotion)."""
    return policy.model_copy(update={"promotion": policy.promotion.model_copy(update={"approval": "auto"})})
