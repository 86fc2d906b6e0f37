"""The review job: judge a live trial, or watch a new champion for a rollback, from live feedback.

Live metrics come from the kind's own ``evaluate`` on the labelled predictions of the
period: in a ``split`` trial each model is scored on the requests it answered; in a
``shadow`` trial, and when watching a new champion, both models are scored on the same
requests (the logged inputs replayed through the other model), so the comparison is
paired and traffic changes over time cannot decide it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from aiflywheel.kernel.flywheel.decisions import Decision, apply, describe, finished_job, fmt, shortfall
from aiflywheel.kernel.flywheel.evaluation import as_training_data, compare
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.flywheel.join import labelled_predictions, last_feedback_id, rows_table
from aiflywheel.kernel.flywheel.policies import Policies, PolicyView, write_state
from aiflywheel.kernel.flywheel.retrain import promotion
from aiflywheel.kernel.jobs import Job
from aiflywheel.kernel.kinds import Kind, Progress, TrainingData, parse_params
from aiflywheel.kernel.registry import ModelVersion, Stage

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform

JOB_TYPE = "flywheel_review"


def run_review(platform: Platform, job: Job, progress: Progress) -> dict[str, Any]:
    endpoint = platform.endpoints.get(job.spec["endpoint"])
    policies = Policies(platform.engine, platform.project_id)
    view = policies.require(endpoint)
    done = platform.flywheel.events.decision_of(job.id)
    if done is not None:
        return {"decision": done.type.value, "reason": done.reason}
    with tempfile.TemporaryDirectory(dir=_scratch(platform), prefix=f"review-{job.id}-") as folder:
        if view.state.trial is not None:
            outcome = _judge_trial(platform, view, job, Path(folder))
        elif view.state.watch is not None:
            outcome = _judge_watch(platform, view, job, Path(folder))
        else:
            outcome = None
    # An outcome is a decision and the state after it, or a reason and the state to keep (nothing decided).
    decision, state = outcome if outcome is not None else ("nothing to review", view.state)
    if isinstance(decision, Decision):
        apply(platform, view, finished_job(state, job.id), decision, job.id)
        progress(1.0, f"{decision.type}: {decision.reason}")
        return {"decision": decision.type.value, "reason": decision.reason}
    with platform.engine.begin() as conn:
        write_state(conn, view, finished_job(state, job.id))
    progress(1.0, decision)
    return {"decision": None, "reason": decision}


def _scratch(platform: Platform) -> Path:
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def _rows_data(
    platform: Platform, kind: Kind, params, version: ModelVersion, items, folder: Path, name: str
) -> TrainingData:
    schema = None
    if version.dataset_version_id is not None:
        dataset = platform.datasets.version_by_id(version.dataset_version_id)
        schema = pq.read_schema(platform.datasets.training_data(dataset).path)
    rows = kind.feedback_rows(params, [item.record for item in items])
    return as_training_data(rows_table(rows, schema), folder / name)


def _judge_trial(platform: Platform, view: PolicyView, job: Job, folder: Path):
    trial, rule = view.state.trial, view.policy.promotion
    challenger = platform.models.by_id(trial.version_id)
    champion = platform.models.champion(challenger.model)
    state = view.state.model_copy(update={"trial": None})
    if challenger.stage != Stage.CHALLENGER or champion is None:
        return (
            Decision(
                EventType.REFUSED,
                f"the trial of {challenger.ref} ended: it is {challenger.stage} now (changed by hand)",
                {"offline": trial.offline},
                champion=champion,
                challenger=challenger,
                challenger_mode="off",
            ),
            state,
        )
    kind = platform.kinds.get(challenger.kind)
    params = parse_params(kind, challenger.params)
    metric, greater = trial.offline.get("metric", champion.primary_metric), trial.offline.get("greater_is_better", True)
    engine, project, endpoint_id = platform.engine, platform.project_id, view.endpoint_id
    if trial.mode == "split":
        mine = labelled_predictions(engine, project, endpoint_id, trial.since_feedback_id, version_id=challenger.id)
        theirs = labelled_predictions(engine, project, endpoint_id, trial.since_feedback_id, version_id=champion.id)
        if min(len(mine), len(theirs)) < rule.online_min_samples:
            waiting = f"{len(mine)} and {len(theirs)} labelled predictions, {rule.online_min_samples} each needed"
            return f"trial waiting: {waiting}", view.state
        comparison = compare(
            platform,
            kind,
            params,
            champion,
            challenger,
            _rows_data(platform, kind, params, challenger, mine, folder, "challenger"),
            len(mine),
            metric,
            greater,
            champion_data=_rows_data(platform, kind, params, challenger, theirs, folder, "champion"),
        )
    else:
        items = labelled_predictions(engine, project, endpoint_id, trial.since_feedback_id)
        if len(items) < rule.online_min_samples:
            return f"trial waiting: {len(items)} labelled predictions, {rule.online_min_samples} needed", view.state
        data = _rows_data(platform, kind, params, challenger, items, folder, "shadow")
        comparison = compare(platform, kind, params, champion, challenger, data, len(items), metric, greater)
    details = {"mode": trial.mode, "online": comparison.numbers(), "offline": trial.offline}
    verdict = describe(metric, comparison.numbers())
    common = {"details": details, "champion": champion, "challenger": challenger}
    lost = shortfall(comparison, rule.min_gain)
    if lost:
        return (
            Decision(
                EventType.REFUSED,
                f"lost the live trial: {lost}",
                stages=((challenger, Stage.ARCHIVED),),
                challenger_mode="off",
                **common,
            ),
            state,
        )
    won = f"live {trial.mode} trial: {verdict} on {comparison.rows} labelled predictions"
    return promotion(view, state, champion, challenger, won, common, last_feedback_id(engine, project))


def _judge_watch(platform: Platform, view: PolicyView, job: Job, folder: Path):
    watch, rule = view.state.watch, view.policy.promotion
    champion = platform.models.by_id(watch.champion_id)
    predecessor = platform.models.by_id(watch.predecessor_id)
    state = view.state.model_copy(update={"watch": None})
    if champion.stage != Stage.CHAMPION:
        return f"{champion.ref} is no longer champion; the watch ended", state
    items = labelled_predictions(
        platform.engine, platform.project_id, view.endpoint_id, watch.since_feedback_id, version_id=champion.id
    )
    if len(items) < rule.rollback_min_samples:
        waiting = f"{len(items)} labelled predictions, {rule.rollback_min_samples} needed"
        return f"watching {champion.ref}: {waiting}", view.state
    kind = platform.kinds.get(champion.kind)
    params = parse_params(kind, champion.params)
    data = _rows_data(platform, kind, params, champion, items, folder, "watch")
    # "champion" here is the predecessor: the gain is the new champion's over it, on the same requests.
    comparison = compare(
        platform,
        kind,
        params,
        predecessor,
        champion,
        data,
        len(items),
        champion.primary_metric,
        champion.greater_is_better,
    )
    details = {"online": comparison.numbers(), "margin": rule.rollback_margin}
    common = {"details": details, "champion": champion, "challenger": predecessor}
    verdict = (
        f"live {comparison.metric} of {champion.ref} {fmt(comparison.challenger.get(comparison.metric))} against "
        f"{predecessor.ref}'s {fmt(comparison.champion.get(comparison.metric))} on the same {comparison.rows} "
        "labelled predictions"
    )
    if comparison.problem:
        return Decision(EventType.KEPT, f"kept without a verdict: {comparison.problem}", **common), state
    if comparison.gain < -rule.rollback_margin:
        return (
            Decision(
                EventType.ROLLED_BACK,
                f"rolled back to {predecessor.ref}: {verdict}, worse by more than the margin {rule.rollback_margin}",
                stages=((predecessor, Stage.CHAMPION),),
                challenger_mode="off",
                **common,
            ),
            state,
        )
    return Decision(EventType.KEPT, f"held up live: {verdict}", **common), state
