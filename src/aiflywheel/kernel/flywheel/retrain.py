"""The retrain job: feedback joined into a training set, a challenger trained, judged, and decided on.

Every step can be repeated: a job re-run after a crash finds the dataset versions and
the model version it already made (by job id) and the decision it already took, so
a restart loses nothing and never decides twice.
"""

from __future__ import annotations

import math
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from aiflywheel.errors import Conflict, InvalidInput, NotFound
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.datasets import DatasetVersion
from aiflywheel.kernel.flywheel.decisions import Decision, apply, describe, finished_job, shortfall
from aiflywheel.kernel.flywheel.evaluation import Comparison, compare
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.flywheel.join import (
    LabelledPrediction,
    labelled_predictions,
    last_feedback_id,
    rows_table,
    write_union,
)
from aiflywheel.kernel.flywheel.policies import Policies, PolicyState, PolicyView, Trial, Watch
from aiflywheel.kernel.flywheel.policy import FlywheelPolicy
from aiflywheel.kernel.jobs import Job
from aiflywheel.kernel.kinds import Progress, parse_params
from aiflywheel.kernel.registry import ModelVersion, Stage
from aiflywheel.kernel.training import train_version

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform

JOB_TYPE = "retrain"
FEEDBACK_JOIN = "feedback_join"
EVALUATION = "evaluation"


class _Span:
    """A kind's progress (0..1) mapped into a part of the job's."""

    def __init__(self, progress: Progress, start: float, end: float):
        self.progress, self.start, self.end = progress, start, end

    def __call__(self, fraction: float, message: str = "") -> None:
        self.progress(self.start + (self.end - self.start) * min(max(fraction, 0.0), 1.0), message)

    def log(self, message: str) -> None:
        self.progress.log(message)


def dataset_ref(platform: Platform, ref: str, role: str) -> DatasetVersion:
    """``name`` or ``name:version`` as a dataset version; the error names the policy field."""
    name, colon, version = ref.rpartition(":")
    if not colon or not version.isdigit():
        name, version = ref, None
    try:
        return platform.datasets.version(name, int(version) if version else None)
    except NotFound as exc:
        raise InvalidInput(f"policy {role} {ref!r}: {exc.message}") from exc


def base_dataset(platform: Platform, policy: FlywheelPolicy, champion: ModelVersion) -> DatasetVersion | None:
    """The dataset feedback is added to: the recipe's, or the one the champion's lineage started from."""
    if policy.recipe.base_dataset:
        return dataset_ref(platform, policy.recipe.base_dataset, "recipe.base_dataset")
    if champion.dataset_version_id is None:
        return None
    version = platform.datasets.version_by_id(champion.dataset_version_id)
    if version.source.get("type") == FEEDBACK_JOIN and version.source.get("base_version_id"):
        version = platform.datasets.version_by_id(version.source["base_version_id"])
    return version


def split_recent(labelled: list[LabelledPrediction], share: float, most: int) -> tuple[list, list]:
    """(older, newest): the newest ``share`` of the labelled predictions, at most ``most``, kept for evaluation."""
    count = min(most, math.floor(len(labelled) * share))
    if count <= 0:
        return labelled, []
    return labelled[:-count], labelled[-count:]


def run_retrain(platform: Platform, job: Job, progress: Progress) -> dict[str, Any]:
    spec = job.spec
    endpoint = platform.endpoints.get(spec["endpoint"])
    policies = Policies(platform.engine, platform.project_id)
    view = policies.require(endpoint)
    done = platform.flywheel.events.decision_of(job.id)
    if done is not None:  # decided before a crash; the job only failed to record its end
        progress.log(f"this job already decided: {done.type} ({done.reason})")
        return {"decision": done.type.value, "reason": done.reason}
    policy = view.policy
    champion = platform.models.champion(endpoint.model)
    if champion is None:
        raise Conflict(f"endpoint {endpoint.name!r}: model {endpoint.model!r} has no champion to retrain")
    kind = platform.kinds.get(champion.kind)
    params = parse_params(kind, policy.recipe.params if policy.recipe.params is not None else champion.params)

    progress(0.0, "joining feedback")
    since = now() - timedelta(seconds=policy.recipe.feedback_window) if policy.recipe.feedback_window else None
    labelled = labelled_predictions(
        platform.engine, platform.project_id, endpoint.id, through_id=spec["feedback_through"], since=since
    )
    rule = policy.promotion
    older, newest = split_recent(labelled, rule.recent_feedback_share, rule.recent_feedback_max)
    train_rows = kind.feedback_rows(params, [item.record for item in older]) if policy.recipe.include_feedback else []
    eval_rows = kind.feedback_rows(params, [item.record for item in newest])
    progress.log(
        f"{len(labelled)} labelled predictions: {len(train_rows)} training rows, "
        f"{len(eval_rows)} newest kept for evaluation"
    )
    base = base_dataset(platform, policy, champion)
    holdout = dataset_ref(platform, rule.holdout_dataset, "promotion.holdout_dataset") if rule.holdout_dataset else None
    training = _derived_set(
        platform,
        job,
        f"{endpoint.name}.training",
        base,
        train_rows,
        {
            "type": FEEDBACK_JOIN,
            "endpoint": endpoint.name,
            "base": base.ref if base else None,
            "base_version_id": base.id if base else None,
            "feedback_rows": len(train_rows),
            "feedback_predictions": len(older),
            "feedback_through": spec["feedback_through"],
        },
    )
    evaluation = _derived_set(
        platform,
        job,
        f"{endpoint.name}.evaluation",
        holdout,
        eval_rows,
        {
            "type": EVALUATION,
            "endpoint": endpoint.name,
            "holdout": holdout.ref if holdout else None,
            "recent_feedback_rows": len(eval_rows),
        },
        schema_from=base,
    )
    if training is None:
        raise InvalidInput(
            f"endpoint {endpoint.name!r} has nothing to train on: its champion has no dataset and "
            "no labelled feedback has arrived (set recipe.base_dataset, or send feedback)"
        )
    progress(0.1, f"training a challenger on {training.ref} ({training.row_count} rows)")
    challenger = platform.models.by_job(job.id)
    if challenger is None:
        challenger, _ = train_version(
            platform, job, kind, params, training, endpoint.model, champion, _Span(progress, 0.1, 0.85)
        )
    progress(0.85, f"evaluating {champion.ref} and {challenger.ref}")
    metric = rule.metric or champion.primary_metric
    greater = champion.greater_is_better if metric == champion.primary_metric else _direction(metric)
    if evaluation is None:
        comparison = Comparison(metric=metric, greater_is_better=greater, rows=0)
        comparison.problem = "there is no evaluation set: no holdout dataset and no recent feedback"
    else:
        comparison = compare(
            platform,
            kind,
            params,
            champion,
            challenger,
            platform.datasets.training_data(evaluation),
            evaluation.row_count,
            metric,
            greater,
        )
    details = {
        "trigger": spec.get("trigger", {}),
        "training_set": training.ref,
        "evaluation_set": evaluation.ref if evaluation else None,
        "base_dataset": base.ref if base else None,
        "holdout": holdout.ref if holdout else None,
        "feedback_rows": len(train_rows),
        "evaluation_feedback_rows": len(eval_rows),
        "offline": comparison.numbers(),
        "trained": {"champion": champion.metrics.get(metric), "challenger": challenger.metrics.get(metric)},
    }
    fresh = policies.fresh(view)
    mark = last_feedback_id(platform.engine, platform.project_id)
    decision, state = offline_decision(fresh, comparison, champion, challenger, details, mark)
    apply(platform, fresh, finished_job(state, job.id), decision, job.id)
    progress(1.0, f"{decision.type}: {decision.reason}")
    return {"decision": decision.type.value, "reason": decision.reason, "challenger": challenger.ref}


def offline_decision(
    view: PolicyView,
    comparison: Comparison,
    champion: ModelVersion,
    challenger: ModelVersion,
    details: dict,
    feedback_mark: int,
) -> tuple[Decision, PolicyState]:
    """What the promotion rule says about a challenger judged offline, and the state that follows.

    ``feedback_mark`` is the newest feedback id now: a live trial or a watch counts what comes after.
    """
    rule = view.policy.promotion
    state = view.state
    common = {"details": details, "champion": champion, "challenger": challenger}
    verdict = describe(comparison.metric, comparison.numbers())
    if not comparison.problem and comparison.rows < rule.min_samples:
        reason = f"the evaluation set has {comparison.rows} rows; the rule needs at least {rule.min_samples}"
    else:
        reason = shortfall(comparison, rule.min_gain)
    if reason is not None:
        return Decision(EventType.REFUSED, reason, stages=((challenger, Stage.ARCHIVED),), **common), state
    won = f"{verdict} on {comparison.rows} rows"
    if rule.online != "off":
        trial = Trial(
            version_id=challenger.id,
            mode=rule.online,
            since_feedback_id=feedback_mark,
            started_at=now(),
            offline=comparison.numbers(),
        )
        return (
            Decision(
                EventType.TRIAL_STARTED,
                f"won offline ({won}); now on live traffic ({rule.online})",
                stages=((challenger, Stage.CHALLENGER),),
                challenger_mode=rule.online,
                challenger_share=rule.online_share,
                **common,
            ),
            state.model_copy(update={"trial": trial}),
        )
    return promotion(view, state, champion, challenger, won, common, feedback_mark)


def promotion(
    view: PolicyView,
    state: PolicyState,
    champion: ModelVersion,
    challenger: ModelVersion,
    won: str,
    common: dict,
    feedback_mark: int,
) -> tuple[Decision, PolicyState]:
    """Promote, or wait for a person if the rule says so."""
    rule = view.policy.promotion
    if rule.approval == "manual":
        return (
            Decision(
                EventType.AWAITING_APPROVAL,
                f"won ({won}); waiting for approval (`flywheel approve {view.endpoint}`)",
                stages=((challenger, Stage.CHALLENGER),),
                challenger_mode="off",
                **common,
            ),
            state.model_copy(update={"awaiting_approval": challenger.id, "trial": None}),
        )
    watch = None
    if rule.rollback_margin is not None:
        watch = Watch(champion_id=challenger.id, predecessor_id=champion.id, since_feedback_id=feedback_mark)
    return (
        Decision(
            EventType.PROMOTED,
            f"won ({won})",
            stages=((challenger, Stage.CHAMPION),),
            challenger_mode="off",
            **common,
        ),
        state.model_copy(update={"watch": watch, "trial": None, "awaiting_approval": None}),
    )


def _direction(metric: str) -> bool:
    """Whether greater is better for a metric other than the primary one (losses and errors: no)."""
    lowered = metric.lower()
    return not any(word in lowered for word in ("loss", "error", "rmse", "mae", "mape", "brier"))


def _derived_set(
    platform: Platform,
    job: Job,
    name: str,
    base: DatasetVersion | None,
    rows: list[dict[str, Any]],
    origin: dict[str, Any],
    schema_from: DatasetVersion | None = None,
) -> DatasetVersion | None:
    """``base`` plus ``rows`` as the next version of dataset ``name`` (or the one this job already made)."""
    origin = {**origin, "job_id": job.id}
    try:
        for version in reversed(platform.datasets.versions(name)):
            if version.source.get("job_id") == job.id:
                return version
    except NotFound:
        pass
    if base is None and not rows:
        return None
    parts = []
    schema = None
    if base is not None:
        table = pq.read_table(platform.datasets.training_data(base).path)
        schema = table.schema
        parts.append(table)
    elif schema_from is not None:
        schema = pq.read_schema(platform.datasets.training_data(schema_from).path)
    if rows:
        parts.append(rows_table(rows, schema))
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=f"join-{job.id}-") as folder:
        path = Path(folder) / "rows.parquet"
        write_union(parts, path)
        return platform.datasets.create(
            name, path, format="parquet", origin=origin, parent_version_id=base.id if base else None
        )
