"""``flywheel forecast``: a forecaster endpoint's forecast of one series, as a table and optionally a chart.

Like ``flywheel predict`` it calls a running Flywheel through the SDK (``--url``, ``--api-key``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.cli.client_commands import client
from aiflywheel.interfaces.cli.context import JsonOption
from aiflywheel.interfaces.cli.render import as_json, console, table


def forecast(
    ctx: typer.Context,
    endpoint: Annotated[str, typer.Argument(help="A forecaster endpoint")],
    series: Annotated[str, typer.Option("--series", "-s", help="The series id to forecast")],
    horizon: Annotated[int | None, typer.Option("--horizon", help="Steps ahead (default: trained horizon)")] = None,
    quantiles: Annotated[
        str | None, typer.Option(help="Comma-separated quantiles, e.g. 0.05,0.5,0.95 (default: the model's)")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also save a chart of history, forecast and interval (.png, .svg, .pdf)")
    ] = None,
    history: Annotated[int, typer.Option(help="Past values drawn on the chart")] = 36,
    json: JsonOption = False,
) -> None:
    """Forecast one series with a forecaster endpoint: a table of quantiles per timestamp."""
    instance: dict[str, Any] = {"series_id": series}
    if horizon is not None:
        instance["horizon"] = horizon
    if quantiles is not None:
        instance["quantiles"] = parse_quantiles(quantiles)
    if chart is not None:
        instance["recent"] = max(history, 0)
    answer = client(ctx).predict(endpoint, [instance])
    prediction = answer.predictions[0]
    if chart is not None:
        save_chart(prediction, chart)
    if json:
        as_json(answer)
        return
    keys = quantile_keys(prediction)
    rows = [
        (stamp, *(f"{prediction[key][i]:,.2f}" for key in keys)) for i, stamp in enumerate(prediction["timestamps"])
    ]
    table(f"{series}: {prediction.get('model', '')} ({answer.model_version})", ("timestamp", *keys), rows)
    console.print(f"prediction id {answer.prediction_ids[0]}", highlight=False, soft_wrap=True)
    if chart is not None:
        console.print(f"chart saved to {chart}", highlight=False, soft_wrap=True)


def parse_quantiles(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InvalidInput(f"--quantiles {text!r} must be comma-separated numbers such as 0.1,0.5,0.9") from exc
    if not values:
        raise InvalidInput("--quantiles needs at least one number")
    return values


def quantile_keys(prediction: dict[str, Any]) -> list[str]:
    """The prediction's quantile columns (p10, p50, ...) in increasing order."""
    keys = [k for k in prediction if k.startswith("p") and k[1:].replace(".", "", 1).isdigit()]
    return sorted(keys, key=lambda k: float(k[1:]))


def save_chart(prediction: dict[str, Any], path: Path) -> Path:
    """History, the median forecast and the outermost quantiles as a band."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    keys = quantile_keys(prediction)
    future = _axis(prediction["timestamps"])
    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=120)
    recent = prediction.get("recent")
    if recent and recent["timestamps"]:
        axes.plot(_axis(recent["timestamps"]), recent["values"], color="#333333", linewidth=1.5, label="history")
    if len(keys) >= 2:
        low, high = keys[0], keys[-1]
        axes.fill_between(future, prediction[low], prediction[high], color="#1f5fa8", alpha=0.2, label=f"{low}–{high}")
    axes.plot(future, prediction["p50"], color="#1f5fa8", linewidth=2, marker="o", markersize=3, label="p50")
    axes.set_title(f"{prediction.get('series_id', '')}: {prediction.get('model', '')}")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(path)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot save the chart to {path}: {exc}") from exc
    finally:
        plt.close(figure)
    return path


def _axis(stamps: list[Any]) -> list[Any]:
    if stamps and isinstance(stamps[0], str):
        import pandas as pd

        return list(pd.to_datetime(stamps))
    return stamps
