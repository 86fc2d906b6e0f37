"""``flywheel up``: start the platform on this machine (the embedded default) until stopped."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from aiflywheel.backends.executor import open_executor
from aiflywheel.interfaces.cli.context import state
from aiflywheel.interfaces.cli.render import console
from aiflywheel.kernel.demo import seed_demo
from aiflywheel.kernel.worker import WorkerPool


def up(
    ctx: typer.Context,
    workers: Annotated[int | None, typer.Option(min=1, help="Jobs run at once (default: the number of cores)")] = None,
    demo: Annotated[bool, typer.Option(help="Create the demo dataset on first start")] = True,
) -> None:
    """Start the job workers on the embedded store; stop with Ctrl-C."""
    cli = state(ctx)
    fw = cli.platform
    slots = workers or fw.settings.workers
    if demo:
        for created in seed_demo(fw):
            console.print(f"demo dataset [bold]{created.ref}[/] ready ({created.row_count} rows)")
    console.print(
        f"Flywheel is up — home {fw.settings.home}, store {fw.engine.url.render_as_string(hide_password=True)}, "
        f"{slots} worker(s). Stop with Ctrl-C.\n"
        "Try: flywheel train tabular --dataset demo-breast-cancer --target diagnosis --wait",
        highlight=False,
        soft_wrap=True,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    pool = WorkerPool(fw, open_executor(fw.settings.executor, slots))
    pool.run(stop, on_event=lambda message: console.print(message, highlight=False))
    console.print("Flywheel stopped.")
