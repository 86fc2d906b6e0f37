"""The demo's chart: the serving champion's quality on unseen claims, round by round, with decisions marked."""

from __future__ import annotations

from pathlib import Path

from aiflywheel.interfaces.demo.claims import DemoResult

_STYLE = {"promoted": ("^", "#2e8b57"), "refused": ("x", "#c0392b"), "rolled_back": ("v", "#8e44ad")}


def save_chart(result: DemoResult, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    rounds = [0] + [r.round for r in result.rounds]
    auc = [result.first_auc] + [r.future_auc for r in result.rounds]
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=120)
    axes.step(rounds, auc, where="post", color="#1f5fa8", linewidth=2, label="serving champion")
    axes.axhline(result.first_auc, color="#888888", linestyle="--", linewidth=1, label="first model, no flywheel")
    for outcome in result.rounds:
        for event in outcome.events:
            kind = event.split()[0]
            if kind in _STYLE:
                marker, color = _STYLE[kind]
                axes.scatter([outcome.round], [outcome.future_auc], marker=marker, color=color, s=70, zorder=3)
    for kind, (marker, color) in _STYLE.items():
        axes.scatter([], [], marker=marker, color=color, label=kind.replace("_", " "))
    axes.set_xlabel("round of live traffic (labels arrive one round late)")
    axes.set_ylabel(f"ROC-AUC on the {result.split.get('future', 0)} latest claims (never trained on)")
    axes.set_title("Flywheel demo: vehicle-insurance fraud, improved only by feedback")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
