"""``flywheel demo``: watch the flywheel turn on real data, then explore the result with ``flywheel up``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from aiflywheel.errors import Conflict
from aiflywheel.interfaces.cli.context import platform
from aiflywheel.interfaces.cli.render import console, table
from aiflywheel.interfaces.demo import DemoResult, find_data, run_demo
from aiflywheel.interfaces.demo.chart import save_chart
from aiflywheel.interfaces.demo.claims import ENDPOINT


def demo(
    ctx: typer.Context,
    data: Annotated[
        Path | None, typer.Option(help="The shared datasets folder (default: ../shared/data)", show_default=False)
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Where to save the chart (default: HOME/demo/flywheel.png)")
    ] = None,
) -> None:
    """Train a fraud model on early claims, replay later claims as traffic with late labels, and let the
    flywheel retrain, judge and promote; print the quality on unseen claims round by round.

    Run it once per home: a second run shows the first run's results.
    """
    fw = platform(ctx)
    folder = fw.settings.home / "demo"
    saved = folder / "flywheel.json"
    if saved.is_file():
        console.print(f"the demo already ran in {fw.settings.home}; its results:")
        _show(DemoResult.load(saved))
        return
    if ENDPOINT in {endpoint.name for endpoint in fw.endpoints.list()}:
        raise Conflict(f"endpoint {ENDPOINT!r} already exists in {fw.settings.home}; run the demo with a fresh --home")
    started = time.monotonic()
    result = run_demo(fw, find_data(data), say=lambda line: console.print(line, highlight=False, soft_wrap=True))
    folder.mkdir(parents=True, exist_ok=True)
    result.chart = str(save_chart(result, chart or folder / "flywheel.png"))
    result.save(saved)
    _show(result)
    console.print(f"done in {time.monotonic() - started:.0f} s", highlight=False)


def _show(result: DemoResult) -> None:
    def short(text: str) -> str:  # "promoted flywheel-demo:5" → "promoted v5": the table fits a terminal
        return text.replace(f"{ENDPOINT}:", "v")

    rows = [(0, 0, 0, "first model, earliest claims", "v1", result.first_auc)]
    rows += [
        (r.round, r.traffic, r.labels, short(", ".join(r.events)) or "-", short(r.champion), r.future_auc)
        for r in result.rounds
    ]
    table(
        f"the flywheel on vehicle-insurance claims: model {ENDPOINT}, ROC-AUC on claims no model ever saw",
        ("round", "claims served", "labels back", "decisions", "champion", "ROC-AUC"),
        rows,
    )
    gain = result.final_auc - result.first_auc
    console.print(
        f"ROC-AUC on unseen claims: {result.first_auc:.4f} → {result.final_auc:.4f} ({gain:+.4f}), "
        "from feedback alone.\n"
        f"chart: {result.chart}\n"
        f"why each model serves: flywheel history {ENDPOINT}   ·   explore it all: flywheel up",
        highlight=False,
        soft_wrap=True,
    )
