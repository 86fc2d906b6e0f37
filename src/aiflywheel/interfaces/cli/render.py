"""How the CLI shows things: Rich tables for people, JSON for programs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.table import Table

# Long free text may wrap; the rest stays whole.
WRAPPING = {"message", "value", "error", "description", "parameters", "reason", "decisions"}
console = Console()
errors = Console(stderr=True)


def error(message: str) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def as_json(value: BaseModel | Sequence[BaseModel] | dict | list) -> None:
    def dump(item: Any) -> Any:
        return item.model_dump(mode="json") if isinstance(item, BaseModel) else item

    payload = [dump(item) for item in value] if isinstance(value, list | tuple) else dump(value)
    print(json.dumps(payload, indent=2, default=str))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    view = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        wraps = column in WRAPPING
        view.add_column(column, overflow="fold", no_wrap=not wraps, min_width=12 if wraps else None)
    for row in rows:
        view.add_row(*(cell(value) for value in row))
    console.print(view)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return str(value)


def key_values(title: str, pairs: Iterable[tuple[str, Any]]) -> None:
    table(title, ("field", "value"), pairs)
