"""Benchmark the flywheel's judgement: the demo's replay under three strategies, side by side.

Run: ``.venv/bin/python bench/flywheel.py``

The scenario is ``flywheel demo``'s (vehicle-insurance claims in time order: a first
model on the earliest 1,500, 8,336 claims replayed as traffic with labels a round
late, the latest 2,500 never trained on). Each strategy runs in a
fresh home, with the same data and the same retrains:

- ``static``: the first model serves forever (no retraining at all);
- ``retrain always``: every 1,000 labels a retrain on all feedback, and the new model
  always replaces the old one — what a scheduled retraining job without a gate does;
- ``flywheel``: the demo's policy: a challenger serves only if it beats the champion
  on the newest 30% of the labelled traffic (kept out of its training), and a new
  champion that does worse live is rolled back;
- ``flywheel, early holdout``: the same, but judged on a fixed 1,000-claim holdout
  from the early period plus the newest 20% of feedback (its traffic starts 1,000
  claims later, after the holdout);
- the last two again with a labelling bug: the labels of round 4's traffic arrive
  inverted (fraud as legitimate and the reverse), as a broken pipeline would send them.

Reported: ROC-AUC of the serving model on the unseen claims after the last round,
its mean over the rounds (quality users actually got), the decisions, and seconds.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiflywheel.interfaces.demo import find_data, run_demo
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.platform import Platform
from aiflywheel.settings import Settings

STRATEGIES = [
    "static",
    "retrain always",
    "flywheel",
    "flywheel, early holdout",
    "retrain always, label bug in round 4",
    "flywheel, label bug in round 4",
]


def promote_every_challenger(platform, events) -> None:
    for event in events:
        if event.type == EventType.REFUSED and event.challenger:
            model, _, version = event.challenger.rpartition(":")
            platform.models.promote(model, int(version))


def run(strategy: str, data: Path) -> dict:
    with tempfile.TemporaryDirectory() as home:
        platform = Platform(Settings.build(home=Path(home), environ={}))
        changes, hook, holdout_rows = {}, None, 0
        bug = frozenset({4}) if "label bug" in strategy else frozenset()
        if strategy == "flywheel, early holdout":
            holdout_rows = 1000
            changes = {"promotion": {"holdout_dataset": "flywheel-demo-holdout", "recent_feedback_share": 0.2}}
        elif strategy == "static":
            changes = {"enabled": False, "promotion": {"rollback_margin": None}}
        elif strategy.startswith("retrain always"):
            changes = {"promotion": {"rollback_margin": None}}
            hook = promote_every_challenger
        started = time.perf_counter()
        result = run_demo(
            platform,
            data,
            holdout_rows=holdout_rows,
            say=lambda line: None,
            policy_changes=changes,
            after_round=hook,
            label_bug_rounds=bug,
        )
        seconds = time.perf_counter() - started
        events = [e.split()[0] for r in result.rounds for e in r.events]
        platform.close()
    return {
        "strategy": strategy,
        "first": result.first_auc,
        "final": result.final_auc,
        "mean": statistics.fmean(r.future_auc for r in result.rounds),
        "promoted": events.count("promoted") + (events.count("refused") if hook else 0),
        "refused": 0 if hook else events.count("refused"),
        "rolled back": events.count("rolled_back"),
        "seconds": seconds,
    }


def main() -> None:
    data = find_data(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    rows = [run(strategy, data) for strategy in STRATEGIES]
    print("\nvehicle-insurance claims, ROC-AUC of the serving model on the 2,500 latest claims (never trained on)\n")
    header = (
        f"{'strategy':<34}{'first':>8}{'final':>8}{'mean':>8}{'promoted':>10}{'refused':>9}{'rolled back':>13}{'s':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['strategy']:<34}{row['first']:>8.4f}{row['final']:>8.4f}{row['mean']:>8.4f}"
            f"{row['promoted']:>10}{row['refused']:>9}{row['rolled back']:>13}{row['seconds']:>7.1f}"
        )


if __name__ == "__main__":
    main()
