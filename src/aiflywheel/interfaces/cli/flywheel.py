"""``flywheel policy set|show|delete``, ``flywheel retrain``, ``flywheel history``, ``approve`` and ``reject``."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Any

import typer

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.cli.context import JsonOption, platform
from aiflywheel.interfaces.cli.render import as_json, console, key_values, table
from aiflywheel.interfaces.cli.train import follow
from aiflywheel.kernel.flywheel import FlywheelStatus

app = typer.Typer(
    help="Flywheel policies: when an endpoint retrains on its feedback, and how a challenger wins.",
    no_args_is_help=True,
)

Endpoint = Annotated[str, typer.Argument(help="The endpoint")]


def _off(value: str | None, convert) -> Any:
    """An option that takes a value or 'off'."""
    if value is None:
        return ...
    return None if value.strip().lower() in ("off", "none") else convert(value)


@app.command("set")
def set_(
    ctx: typer.Context,
    endpoint: Endpoint,
    every_n_labels: Annotated[str | None, typer.Option(help="Retrain after N new labels, or 'off'")] = None,
    schedule: Annotated[str | None, typer.Option(help="Retrain at least this often ('6h', '1d'), or 'off'")] = None,
    drift: Annotated[str | None, typer.Option(help="Retrain when input drift reaches this score, or 'off'")] = None,
    drift_method: Annotated[str | None, typer.Option(help="psi or ks")] = None,
    params: Annotated[str | None, typer.Option(help="Training params as JSON (default: the champion's)")] = None,
    base_dataset: Annotated[str | None, typer.Option(help="Dataset 'name[:version]' feedback is added to")] = None,
    feedback_window: Annotated[str | None, typer.Option(help="Only feedback this recent ('30d'), or 'off'")] = None,
    metric: Annotated[str | None, typer.Option(help="Metric to compare (default: the primary one)")] = None,
    min_gain: Annotated[float | None, typer.Option(help="How much better a challenger must be")] = None,
    holdout: Annotated[str | None, typer.Option(help="A fixed labelled holdout dataset 'name[:version]'")] = None,
    min_samples: Annotated[int | None, typer.Option(help="Fewest evaluation rows for a decision")] = None,
    approval: Annotated[str | None, typer.Option(help="auto, or manual (wait for `flywheel approve`)")] = None,
    online: Annotated[str | None, typer.Option(help="Live trial before promoting: off, split or shadow")] = None,
    online_share: Annotated[float | None, typer.Option(help="Split trials: the challenger's share")] = None,
    rollback_margin: Annotated[
        str | None, typer.Option(help="Roll back when live metric drops by this, or 'off'")
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Turn the automatic triggers on or off")
    ] = None,
    from_file: Annotated[Path | None, typer.Option("--file", help="A JSON file with policy fields")] = None,
    json: JsonOption = False,
) -> None:
    """Create or change an endpoint's flywheel policy (fields not given keep their value)."""
    changes: dict[str, Any] = _read_json(from_file) if from_file else {}
    sections = {
        "triggers": {
            "every_n_labels": _off(every_n_labels, int),
            "schedule": _off(schedule, str),
            "drift_threshold": _off(drift, float),
            "drift_method": drift_method if drift_method is not None else ...,
        },
        "recipe": {
            "params": _parse(params, "--params") if params is not None else ...,
            "base_dataset": base_dataset if base_dataset is not None else ...,
            "feedback_window": _off(feedback_window, str),
        },
        "promotion": {
            "metric": metric if metric is not None else ...,
            "min_gain": min_gain if min_gain is not None else ...,
            "holdout_dataset": holdout if holdout is not None else ...,
            "min_samples": min_samples if min_samples is not None else ...,
            "approval": approval if approval is not None else ...,
            "online": online if online is not None else ...,
            "online_share": online_share if online_share is not None else ...,
            "rollback_margin": _off(rollback_margin, float),
        },
    }
    for section, fields in sections.items():
        given = {key: value for key, value in fields.items() if value is not ...}
        if given:
            changes[section] = {**changes.get(section, {}), **given}
    if enabled is not None:
        changes["enabled"] = enabled
    status = platform(ctx).flywheel.set_policy(endpoint, changes)
    if json:
        as_json(status)
        return
    show_status(status)


@app.command()
def show(ctx: typer.Context, endpoint: Endpoint, json: JsonOption = False) -> None:
    """Show an endpoint's policy, what the loop is doing for it and how many new labels wait."""
    status = platform(ctx).flywheel.status(endpoint)
    if json:
        as_json(status)
        return
    show_status(status)


@app.command()
def delete(ctx: typer.Context, endpoint: Endpoint) -> None:
    """Remove an endpoint's policy (its history stays)."""
    platform(ctx).flywheel.delete_policy(endpoint)
    console.print(f"flywheel policy of endpoint {endpoint} deleted")


def show_status(status: FlywheelStatus) -> None:
    policy, state = status.policy, status.state
    pending = []
    if status.job:
        pending.append(f"job {status.job.id} ({status.job.type}, {status.job.state.value})")
    if state.trial:
        pending.append(f"live {state.trial.mode} trial of version id {state.trial.version_id}")
    if state.awaiting_approval:
        pending.append(f"a challenger waits for approval (`flywheel approve {status.endpoint}`)")
    if state.watch:
        pending.append("the new champion is watched for a rollback")
    rows = [
        ("endpoint", f"{status.endpoint} (model {status.model})"),
        ("automatic", "on" if policy.enabled else "off (retrain by hand)"),
        *((f"triggers.{k}", v) for k, v in policy.triggers.model_dump().items()),
        *((f"recipe.{k}", v) for k, v in policy.recipe.model_dump().items()),
        *((f"promotion.{k}", v) for k, v in policy.promotion.model_dump().items()),
        ("new labels", status.new_labels),
        ("last retrain", state.last_retrain_at),
        ("last drift", jsonlib.dumps(state.last_drift) if state.last_drift else None),
        ("pending", "; ".join(pending) or "nothing"),
    ]
    key_values(f"flywheel of {status.endpoint}", rows)


def retrain(
    ctx: typer.Context,
    endpoint: Endpoint,
    wait: Annotated[bool, typer.Option(help="Run the retrain here and show the decision")] = False,
    json: JsonOption = False,
) -> None:
    """Retrain an endpoint's model on its feedback now, and let the policy decide."""
    fw = platform(ctx)
    job = follow(fw, fw.flywheel.retrain(endpoint), wait, json, f"`flywheel history {endpoint}` tells what it decided")
    if job is not None and not json:
        console.print(f"[bold]{job.result['decision']}[/]: {job.result['reason']}", highlight=False, soft_wrap=True)


def history(
    ctx: typer.Context,
    endpoint: Endpoint,
    limit: Annotated[int, typer.Option(min=1, help="The last this many events")] = 50,
    json: JsonOption = False,
) -> None:
    """Every flywheel decision of an endpoint with its numbers: triggers, promotions, refusals, rollbacks."""
    found = platform(ctx).flywheel.history(endpoint, limit=limit)
    if json:
        as_json(found)
        return
    table(
        f"flywheel history of {endpoint}",
        ("when", "event", "champion", "challenger", "reason"),
        [(e.created_at, e.type.value, e.champion, e.challenger, e.reason) for e in found],
    )


def approve(ctx: typer.Context, endpoint: Endpoint) -> None:
    """Promote the challenger that won and waits for approval."""
    event = platform(ctx).flywheel.approve(endpoint)
    console.print(f"{event.type.value}: {event.reason}", highlight=False, soft_wrap=True)


def reject(ctx: typer.Context, endpoint: Endpoint) -> None:
    """Archive the challenger that waits for approval."""
    event = platform(ctx).flywheel.reject(endpoint)
    console.print(f"{event.type.value}: {event.reason}", highlight=False, soft_wrap=True)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    document = _parse(text, str(path))
    if not isinstance(document, dict):
        raise InvalidInput(f"{path} must hold a JSON object of policy fields")
    return document


def _parse(text: str, where: str) -> Any:
    try:
        return jsonlib.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{where} is not valid JSON: {exc}") from exc
