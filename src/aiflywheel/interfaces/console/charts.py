"""Chart figures as plotly.js specifications (data + layout), drawn in the browser by plotly.js.

Each chart also comes with the table of its numbers, so what a chart shows is readable
without a mouse or without sight.
"""

from __future__ import annotations

from typing import Any

from aiflywheel.kernel.flywheel import FlywheelEvent
from aiflywheel.kernel.traffic import TrafficBucket

COLOURS = {"champion": "#1f5fa8", "challenger": "#b35900", "requests": "#1f5fa8", "failures": "#b00020"}
DECISION_MARKERS = {
    "promoted": "star",
    "refused": "x",
    "rolled_back": "triangle-down",
    "kept": "circle",
    "trial_started": "diamond",
    "awaiting_approval": "square",
}


def _layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "height": 300,
        "xaxis": {"type": "date", "title": {"text": "time (UTC)"}},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.25},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        **extra,
    }


def traffic_figure(series: list[TrafficBucket], failures: list) -> dict[str, Any]:
    times = [bucket.start.isoformat() for bucket in series]
    failed = [0] * len(series)
    if series:
        width = (series[1].start - series[0].start) if len(series) > 1 else None
        for moment in failures:
            if width and moment >= series[0].start:
                failed[min(int((moment - series[0].start) / width), len(series) - 1)] += 1
    data = [
        {
            "type": "bar",
            "name": "requests",
            "x": times,
            "y": [b.requests for b in series],
            "marker": {"color": COLOURS["requests"]},
        },
        {"type": "bar", "name": "failed requests", "x": times, "y": failed, "marker": {"color": COLOURS["failures"]}},
    ]
    return {"data": data, "layout": _layout("Requests and failures", "requests", barmode="stack")}


def latency_figure(series: list[TrafficBucket]) -> dict[str, Any]:
    times = [bucket.start.isoformat() for bucket in series]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "p50 latency",
            "x": times,
            "y": [b.p50_ms for b in series],
            "connectgaps": False,
            "line": {"color": "#1f5fa8"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "p95 latency",
            "x": times,
            "y": [b.p95_ms for b in series],
            "connectgaps": False,
            "line": {"color": "#b35900", "dash": "dot"},
        },
    ]
    return {"data": data, "layout": _layout("Latency", "milliseconds")}


def decision_points(events: list[FlywheelEvent]) -> list[dict[str, Any]]:
    """Each decision with the metric both models scored, oldest first: the rows behind the flywheel chart."""
    points = []
    for event in events:
        numbers = event.details.get("offline") or event.details.get("online") or {}
        metric = numbers.get("metric")
        if not metric:
            continue
        points.append(
            {
                "at": event.created_at,
                "type": event.type.value,
                "metric": metric,
                "champion": (numbers.get("champion") or {}).get(metric),
                "challenger": (numbers.get("challenger") or {}).get(metric),
                "gain": numbers.get("gain"),
                "rows": numbers.get("rows"),
                "champion_ref": event.champion,
                "challenger_ref": event.challenger,
                "reason": event.reason,
            }
        )
    return points


def flywheel_figure(points: list[dict[str, Any]]) -> dict[str, Any]:
    metric = points[-1]["metric"] if points else "metric"
    times = [point["at"].isoformat() for point in points]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "champion",
            "x": times,
            "y": [point["champion"] for point in points],
            "line": {"color": COLOURS["champion"]},
            "marker": {"size": 9},
            "text": [point["champion_ref"] for point in points],
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "challenger",
            "x": times,
            "y": [point["challenger"] for point in points],
            "marker": {
                "color": COLOURS["challenger"],
                "size": 12,
                "symbol": [DECISION_MARKERS.get(point["type"], "circle") for point in points],
            },
            "text": [f"{point['type']}: {point['challenger_ref']}" for point in points],
        },
    ]
    layout = _layout(f"{metric} at each decision", metric)
    layout["yaxis"]["rangemode"] = "normal"
    return {"data": data, "layout": layout}
