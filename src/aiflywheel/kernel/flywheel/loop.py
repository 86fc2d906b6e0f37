"""The flywheel loop: visit every policy, start what its triggers call for, notice jobs that ended.

``tick`` is cheap (a few counting queries per policy) and does no heavy work itself:
retrains and reviews are durable jobs that workers run, so they survive a restart and
never hold up serving. ``flywheel up`` ticks every few seconds; tests and the demo tick
by hand.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from aiflywheel.errors import Conflict, FlywheelError, NotFound
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.flywheel import events
from aiflywheel.kernel.flywheel.drift import drift, sample
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.flywheel.join import count_labelled, last_feedback_id, recent_inputs
from aiflywheel.kernel.flywheel.policies import PolicyState, PolicyView, all_policies, elapsed, write_state
from aiflywheel.kernel.flywheel.retrain import JOB_TYPE as RETRAIN
from aiflywheel.kernel.flywheel.review import JOB_TYPE as REVIEW
from aiflywheel.kernel.jobs import Job, JobState

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform

logger = logging.getLogger(__name__)

REFERENCE_ROWS = 20_000  # training rows drift is measured against: a sample, read once per dataset version


def start_job(
    platform: Platform,
    view: PolicyView,
    job_type: str,
    spec: dict[str, Any],
    updates: dict[str, Any],
    event: tuple[EventType, str, dict[str, Any]] | None = None,
) -> Job:
    """Queue a flywheel job and mark it in flight in the policy's state (with its event), or raise ``Conflict``."""
    job = platform.jobs.submit(job_type, spec)
    try:
        with platform.engine.begin() as conn:
            write_state(conn, view, view.state.model_copy(update={"job_id": job.id, **updates}))
            if event is not None:
                champion = platform.models.champion(platform.endpoints.get(view.endpoint).model)
                events.record(
                    conn,
                    platform.project_id,
                    view.endpoint_id,
                    view.endpoint,
                    event[0],
                    event[1],
                    event[2],
                    job_id=job.id,
                    champion_version_id=champion.id if champion else None,
                )
    except Conflict:
        platform.jobs.cancel(job.id)
        raise
    return job


def start_retrain(platform: Platform, view: PolicyView, trigger: dict[str, Any], reason: str) -> Job:
    mark = last_feedback_id(platform.engine, platform.project_id)
    spec = {"endpoint": view.endpoint, "trigger": trigger, "feedback_through": mark}
    updates = {"feedback_mark": mark, "last_retrain_at": now()}
    return start_job(platform, view, RETRAIN, spec, updates, (EventType.TRIGGERED, reason, {"trigger": trigger}))


def job_in_flight(platform: Platform, state: PolicyState) -> Job | None:
    if state.job_id is None:
        return None
    try:
        job = platform.jobs.get(state.job_id)
    except NotFound:
        return None
    return None if job.state.finished else job


class FlywheelLoop:
    """Ticks every policy of every project; keeps a few drift reference samples between ticks."""

    def __init__(self, platform: Platform, reference_cache: int = 8):
        self.platform = platform
        self._references: OrderedDict[tuple[int, tuple[str, ...]], pa.Table] = OrderedDict()
        self._reference_cache = reference_cache

    def tick(self) -> list[str]:
        """One pass over the policies; returns what it did, one line per endpoint that changed."""
        messages = []
        for view in all_policies(self.platform.engine):
            project = self.platform.in_project(view.project_id)
            try:
                message = self._visit(project, view)
            except Conflict:
                continue  # another loop, or a person, changed this policy meanwhile: next tick sees it
            except FlywheelError as exc:
                message = f"skipped: {exc.message}"
            if message:
                messages.append(f"{view.endpoint}: {message}")
        return messages

    def _visit(self, platform: Platform, view: PolicyView) -> str | None:
        state, policy = view.state, view.policy
        if state.job_id is not None:
            return self._settle_job(platform, view)
        rule = policy.promotion
        if state.trial is not None:
            if self._trial_ready(platform, view):
                job = start_job(platform, view, REVIEW, {"endpoint": view.endpoint}, {})
                return f"reviewing the live trial (job {job.id})"
            return None
        if state.awaiting_approval is not None:
            return None
        if state.watch is not None and (
            count_labelled(
                platform.engine,
                platform.project_id,
                view.endpoint_id,
                state.watch.since_feedback_id,
                version_id=state.watch.champion_id,
            )
            >= rule.rollback_min_samples
        ):
            job = start_job(platform, view, REVIEW, {"endpoint": view.endpoint}, {})
            return f"checking the new champion against its predecessor (job {job.id})"
        if not policy.enabled:
            return None
        trigger = self._trigger(platform, view)
        if trigger is None:
            return None
        trigger, reason, view = trigger
        job = start_retrain(platform, view, trigger, reason)
        return f"{reason}: retrain job {job.id}"

    def _settle_job(self, platform: Platform, view: PolicyView) -> str | None:
        """A job in flight that ended without releasing the endpoint failed (or was cancelled): say so."""
        try:
            job = platform.jobs.get(view.state.job_id)
        except NotFound:
            job = None
        if job is not None and not job.state.finished:
            return None
        with platform.engine.begin() as conn:
            write_state(conn, view, view.state.model_copy(update={"job_id": None}))
            if job is not None and job.state != JobState.SUCCEEDED:
                reason = f"job {job.id} ({job.type}) {job.state}: {job.error or 'no error given'}; nothing changed"
                events.record(
                    conn, platform.project_id, view.endpoint_id, view.endpoint, EventType.FAILED, reason, job_id=job.id
                )
                return reason
        return None

    def _trial_ready(self, platform: Platform, view: PolicyView) -> bool:
        trial, needed = view.state.trial, view.policy.promotion.online_min_samples
        engine, project, endpoint_id = platform.engine, platform.project_id, view.endpoint_id
        if trial.mode == "shadow":
            return count_labelled(engine, project, endpoint_id, trial.since_feedback_id) >= needed
        champion = platform.models.champion(platform.endpoints.get(view.endpoint).model)
        versions = [trial.version_id] + ([champion.id] if champion else [])
        return all(
            count_labelled(engine, project, endpoint_id, trial.since_feedback_id, version_id=version) >= needed
            for version in versions
        )

    def _trigger(self, platform: Platform, view: PolicyView) -> tuple[dict[str, Any], str, PolicyView] | None:
        triggers, state = view.policy.triggers, view.state
        if triggers.every_n_labels is not None:
            new = count_labelled(platform.engine, platform.project_id, view.endpoint_id, state.feedback_mark)
            if new >= triggers.every_n_labels:
                return (
                    {"type": "labels", "new_labels": new, "every_n_labels": triggers.every_n_labels},
                    f"{new} new labelled predictions (the policy retrains every {triggers.every_n_labels})",
                    view,
                )
        if triggers.schedule is not None and elapsed(state.last_retrain_at or view.created_at, triggers.schedule):
            return (
                {"type": "schedule", "every_seconds": triggers.schedule},
                f"scheduled (every {triggers.schedule:g} s)",
                view,
            )
        if triggers.drift_threshold is not None and elapsed(state.last_drift_check_at, triggers.drift_check_every):
            return self._check_drift(platform, view)
        return None

    def _check_drift(self, platform: Platform, view: PolicyView):
        triggers, state = view.policy.triggers, view.state
        champion = platform.models.champion(platform.endpoints.get(view.endpoint).model)
        since = state.last_retrain_at or (champion.created_at if champion else None)
        platform.prediction_log.flush()  # inputs this process served but has not written yet count too
        inputs = recent_inputs(platform.engine, platform.project_id, view.endpoint_id, since, triggers.drift_window)
        report = None
        if champion is not None and champion.dataset_version_id is not None and len(inputs) >= triggers.drift_window:
            keys = tuple(sorted({key for row in inputs if isinstance(row, dict) for key in row}))
            reference = self._reference(platform, champion.dataset_version_id, keys)
            if reference is not None:
                report = drift(reference, inputs, triggers.drift_method)
        checked = {"last_drift_check_at": now()}
        if report is not None:
            checked["last_drift"] = {
                "method": report.method,
                "score": round(report.score, 4),
                "feature": report.feature,
                "features": report.top(),
                "rows": report.current_rows,
            }
        with platform.engine.begin() as conn:
            view = write_state(conn, view, state.model_copy(update=checked))
        if report is None or report.score < triggers.drift_threshold:
            return None
        trigger = {"type": "drift", "threshold": triggers.drift_threshold, **checked["last_drift"]}
        reason = (
            f"input drift: {report.method} {report.score:.3f} on {report.feature!r} "
            f"(threshold {triggers.drift_threshold}) over the last {report.current_rows} inputs"
        )
        return trigger, reason, view

    def _reference(self, platform: Platform, dataset_version_id: int, keys: tuple[str, ...]) -> pa.Table | None:
        cache_key = (dataset_version_id, keys)
        if cache_key not in self._references:
            version = platform.datasets.version_by_id(dataset_version_id)
            path = platform.datasets.training_data(version).path
            columns = [name for name in pq.read_schema(path).names if name in keys]
            if not columns:
                return None
            self._references[cache_key] = sample(pq.read_table(path, columns=columns), REFERENCE_ROWS)
            while len(self._references) > self._reference_cache:
                self._references.popitem(last=False)
        self._references.move_to_end(cache_key)
        return self._references[cache_key]
