"""The vehicle-insurance claims scenario: a fraud model trained early, improved only by feedback.

The claims (1994-1996) are put in time order and cut in three:

1. the earliest rows train the first model (``flywheel-demo-early``);
2. the middle rows are replayed as live traffic, round by round, through the real
   endpoint; each round's fraud labels arrive one round late, as feedback;
3. the latest rows (``flywheel-demo-future``) are never shown to any model: after every
   round the serving champion is scored on them, so any gain comes from feedback.

A challenger is judged on the newest 30% of the labelled traffic, kept out of its
training. (A fixed holdout from the early period, ``holdout_rows``, is possible but
misleads here: fraud patterns move over these years, and ``bench/flywheel.py`` shows
that such a gate refuses models that would have done better.)

The loop is ticked and its jobs are run here, between rounds, exactly as ``flywheel up``
would do it in the background.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.flywheel import FlywheelLoop
from aiflywheel.kernel.flywheel.events import EventType, FlywheelEvent
from aiflywheel.kernel.flywheel.policy import merge
from aiflywheel.kernel.jobs import this_worker
from aiflywheel.kernel.kinds import parse_params
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.predictions import FeedbackRequest
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import execute

ENDPOINT = "flywheel-demo"
TARGET = "FraudFound_P"
PARAMS = {"target": TARGET, "exclude": ["PolicyNumber"]}
DATA_FILE = Path("fraud") / "vehicle_claims_dev.csv"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass
class RoundResult:
    round: int
    traffic: int  # rows predicted so far
    labels: int  # labels received so far
    events: list[str]
    champion: str
    future_auc: float


@dataclass
class DemoResult:
    first_auc: float
    rounds: list[RoundResult] = field(default_factory=list)
    chart: str | None = None
    split: dict[str, int] = field(default_factory=dict)

    @property
    def final_auc(self) -> float:
        return self.rounds[-1].future_auc if self.rounds else self.first_auc

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> DemoResult:
        raw = json.loads(path.read_text())
        raw["rounds"] = [RoundResult(**item) for item in raw["rounds"]]
        return cls(**raw)


def find_data(given: Path | None) -> Path:
    """The shared datasets folder: ``given``, or ``../shared/data`` seen from here or from the source tree."""
    candidates = (
        [given] if given else [Path.cwd() / ".." / "shared" / "data", Path(__file__).parents[5] / "shared" / "data"]
    )
    for folder in candidates:
        if (folder / DATA_FILE).is_file():
            return folder.resolve()
    raise InvalidInput(
        f"the demo needs {DATA_FILE} from the shared datasets; none at {', '.join(str(c) for c in candidates)} "
        "(pass --data FOLDER)"
    )


def time_ordered(csv: Path) -> pd.DataFrame:
    frame = pd.read_csv(csv)
    order = frame["Year"] * 100 + frame["Month"].map({m: i for i, m in enumerate(MONTHS)}) * 5 + frame["WeekOfMonth"]
    return frame.assign(_order=order).sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def run_demo(
    platform: Platform,
    data: Path,
    first_rows: int = 1500,
    holdout_rows: int = 0,
    future_rows: int = 2500,
    round_rows: int = 1000,
    say: Callable[[str], None] = print,
    policy_changes: dict | None = None,
    after_round: Callable[[Platform, list[FlywheelEvent]], None] | None = None,
    label_bug_rounds: frozenset[int] = frozenset(),
) -> DemoResult:
    """Build the scenario in ``platform``'s (empty) project and turn the flywheel; return what happened.

    ``policy_changes`` vary the demo's policy, ``after_round`` sees each round's decisions
    before the champion is scored, and the traffic of ``label_bug_rounds`` gets every label
    inverted, as a broken labelling pipeline would send them (``bench/flywheel.py`` uses
    all three to compare strategies).
    """
    frame = time_ordered(data / DATA_FILE)
    live_end = len(frame) - future_rows
    if live_end - first_rows - holdout_rows < round_rows:
        raise InvalidInput(f"{len(frame)} rows are too few for this split")
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    parts = [(f"{ENDPOINT}-early", frame.iloc[:first_rows]), (f"{ENDPOINT}-future", frame.iloc[live_end:])]
    if holdout_rows:
        parts.append((f"{ENDPOINT}-holdout", frame.iloc[first_rows : first_rows + holdout_rows]))
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        for name, part in parts:
            path = Path(folder) / f"{name}.csv"
            part.to_csv(path, index=False)
            platform.datasets.create(name, path, source_name=f"{DATA_FILE} (rows in time order)")
    say(f"training the first model on the earliest {first_rows} claims")
    job = platform.train("tabular", f"{ENDPOINT}-early", PARAMS, model=ENDPOINT)
    _run_jobs(platform)
    if platform.jobs.get(job.id).state != "succeeded":
        raise InvalidInput(f"the first training failed: {platform.jobs.get(job.id).error}")
    platform.endpoints.deploy(ENDPOINT)
    policy = {
        "triggers": {"every_n_labels": round_rows, "drift_threshold": None},
        "promotion": {
            "min_samples": 300,
            "min_gain": 0.002,
            "recent_feedback_share": 0.3,
            "rollback_margin": 0.03,
            "rollback_min_samples": 2 * round_rows,  # a round can hold only a few frauds
        },
    }
    platform.flywheel.set_policy(ENDPOINT, merge(policy, policy_changes or {}))
    scorer = _FutureScorer(platform)
    result = DemoResult(
        first_auc=scorer.score(platform.models.champion(ENDPOINT)),
        split={
            "first": first_rows,
            "holdout": holdout_rows,
            "live": live_end - first_rows - holdout_rows,
            "future": future_rows,
        },
    )
    say(f"{platform.models.champion(ENDPOINT).ref}: ROC-AUC {result.first_auc:.4f} on the {future_rows} latest claims")
    serving = Serving(
        platform.engine,
        platform.artifacts,
        platform.kinds,
        platform.model_cache,
        platform.prediction_log.start(),
        route_seconds=0.0,
    )
    loop = FlywheelLoop(platform)
    late: list[tuple[str, int]] = []  # predictions whose labels arrive next round
    traffic = labels = 0
    seen_events = len(platform.flywheel.history(ENDPOINT))
    try:
        starts = list(range(first_rows + holdout_rows, live_end, round_rows))
        for number, start in enumerate(starts + [None], 1):
            arrived, late = late, []
            if start is not None:
                rows = frame.iloc[start : min(start + round_rows, live_end)]
                truth = 1 - rows[TARGET] if number in label_bug_rounds else rows[TARGET]
                late = list(zip(_predict(serving, platform, rows.drop(columns=[TARGET])), truth, strict=True))
                traffic += len(rows)
            for prediction_id, label in arrived:
                labels += 1
                platform.feedback.send(
                    FeedbackRequest(prediction_id=prediction_id, event_id=f"claim-label-{labels}", label=int(label))
                )
            for _ in range(3):  # a retrain, then the review it may lead to
                loop.tick()
                if not _run_jobs(platform):
                    break
            history = platform.flywheel.history(ENDPOINT, limit=1000)
            new = [e for e in history[seen_events:] if e.type not in (EventType.TRIGGERED, EventType.POLICY_SET)]
            seen_events = len(history)
            if after_round is not None:
                after_round(platform, new)
            champion = platform.models.champion(ENDPOINT)
            outcome = RoundResult(
                round=number,
                traffic=traffic,
                labels=labels,
                events=[f"{e.type.value} {e.challenger or ''}".strip() for e in new],
                champion=champion.ref,
                future_auc=scorer.score(champion),
            )
            result.rounds.append(outcome)
            say(
                f"round {number}: {traffic} claims served, {labels} labels back; "
                f"{', '.join(outcome.events) or 'no decision'}; champion {champion.ref} "
                f"ROC-AUC {outcome.future_auc:.4f} on unseen claims"
            )
    finally:
        serving.close()
    return result


def _predict(serving: Serving, platform: Platform, rows: pd.DataFrame, batch: int = 50) -> list[str]:
    instances = json.loads(rows.to_json(orient="records"))
    ids = []
    for start in range(0, len(instances), batch):
        answer = serving.invoke(platform.project_id, ENDPOINT, instances[start : start + batch]).result(timeout=60)
        ids.extend(answer.prediction_ids)
    return ids


def _run_jobs(platform: Platform) -> int:
    """Run every queued job here, as a worker would; return how many ran."""
    ran = 0
    while (job := platform.all_jobs().claim(this_worker())) is not None:
        execute(platform, job)
        ran += 1
    return ran


class _FutureScorer:
    """ROC-AUC of a model version on ``flywheel-demo-future``, the rows no model ever saw."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.data = platform.datasets.training_data(platform.datasets.version(f"{ENDPOINT}-future"))
        self.scores: dict[int, float] = {}

    def score(self, version) -> float:
        if version.id not in self.scores:
            kind = self.platform.kinds.get(version.kind)
            metrics = kind.evaluate(self.platform.predictor(version), self.data, parse_params(kind, version.params))
            self.scores[version.id] = round(metrics["roc_auc"], 4)
        return self.scores[version.id]
