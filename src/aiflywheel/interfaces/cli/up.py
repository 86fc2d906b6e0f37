"""``flywheel up``: the REST API and the job workers in one process, on the embedded default."""

from __future__ import annotations

import errno
import gc
import logging
import socket
import sys
import threading
from typing import Annotated

import typer
import uvicorn

from aiflywheel.backends.executor import open_executor
from aiflywheel.errors import Conflict
from aiflywheel.interfaces.cli.context import state
from aiflywheel.interfaces.cli.render import console
from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.demo import DEMO_DATASET, seed_demo_in_process
from aiflywheel.kernel.flywheel import FlywheelLoop
from aiflywheel.kernel.keys import Keys, Role
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.projects import project_ids
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import WorkerPool

logger = logging.getLogger(__name__)

UNLOAD_CHECK_SECONDS = 10.0
FLYWHEEL_TICK_SECONDS = 5.0
# Requests hop between the event loop and batcher threads; Python's default 5 ms GIL
# switch interval would add up to that much to each hop under load.
SWITCH_INTERVAL = 0.0005


def up(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8080,
    workers: Annotated[int | None, typer.Option(min=1, help="Jobs run at once (default: the number of cores)")] = None,
    demo: Annotated[bool, typer.Option(help="Create the demo dataset on first start")] = True,
    services: Annotated[
        bool,
        typer.Option(help="Install and deploy the built-in services (speech, vision, language, ...) on first start"),
    ] = True,
) -> None:
    """Serve the REST API (OpenAPI at /docs) and run the job workers until Ctrl-C."""
    cli = state(ctx)
    fw = cli.platform
    _check_port_free(host, port)
    sys.setswitchinterval(SWITCH_INTERVAL)
    keys = Keys(fw.engine)
    if keys.count(cli.project) == 0:
        key, _ = keys.create(Role.ADMIN, cli.project, name="first admin key, created by flywheel up")
        console.print(
            f"Admin API key for project {cli.project!r} (shown once, stored only hashed):\n  {key}",
            highlight=False,
            soft_wrap=True,
        )
    executor = open_executor(fw.settings.executor, workers or fw.settings.workers)
    if demo and DEMO_DATASET not in {d.name for d in fw.datasets.list()}:
        for ref in executor.submit(seed_demo_in_process, fw.settings).result():
            console.print(f"demo dataset [bold]{ref}[/] ready")
    if services:
        _provision_services(fw)
    serving = Serving(fw.engine, fw.artifacts, fw.kinds, fw.model_cache, fw.prediction_log.start())
    app = create_app(fw, serving, max_body_bytes=fw.settings.max_body_bytes)
    stop = threading.Event()
    pool = WorkerPool(fw, executor)
    background = [
        threading.Thread(target=pool.run, args=(stop, _say), name="worker-pool", daemon=True),
        threading.Thread(target=_unload_idle, args=(serving, stop), name="unloader", daemon=True),
        threading.Thread(target=_turn_flywheel, args=(FlywheelLoop(fw), stop), name="flywheel", daemon=True),
    ]
    for thread in background:
        thread.start()
    url = f"http://{host}:{port}"
    greeting = (
        f"Flywheel is up at {url} (API docs: {url}/docs, console: {url}/) — home {fw.settings.home}, "
        f"{executor.slots} job worker(s). Stop with Ctrl-C.\n"
        f"Try: flywheel train tabular --dataset {DEMO_DATASET} --target diagnosis --wait"
    )
    gc.freeze()  # everything imported so far lives as long as the server: no need to rescan it
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    # Say "up" only once the socket accepts connections: a script waiting for the line can connect at once.
    background.append(threading.Thread(target=_greet_when_listening, args=(server, greeting, stop), daemon=True))
    background[-1].start()
    try:
        server.run()
    finally:
        stop.set()
        for thread in background:
            thread.join()
        serving.close()
        console.print("Flywheel stopped.")


def _greet_when_listening(server: uvicorn.Server, greeting: str, stop: threading.Event) -> None:
    while not server.started:
        if stop.wait(0.05):
            return
    _say(greeting)


def _provision_services(fw: Platform) -> None:
    for project_id in project_ids(fw.engine):
        created = fw.in_project(project_id).provision_services()
        if created:
            console.print(f"services ready: {', '.join(created)}", highlight=False, soft_wrap=True)


def _say(message: str) -> None:
    console.print(message, highlight=False, soft_wrap=True)


def _unload_idle(serving: Serving, stop: threading.Event) -> None:
    while not stop.wait(UNLOAD_CHECK_SECONDS):
        for ref in serving.unload_idle():
            _say(f"unloaded idle model {ref}")


def _turn_flywheel(loop: FlywheelLoop, stop: threading.Event) -> None:
    while not stop.wait(FLYWHEEL_TICK_SECONDS):
        try:
            for message in loop.tick():
                _say(f"flywheel: {message}")
        except Exception:  # the store may be briefly unavailable; the next tick tries again
            logger.exception("the flywheel loop failed; trying again")


def _check_port_free(host: str, port: int) -> None:
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    # As uvicorn binds: a port whose last server just stopped (connections in TIME_WAIT) is free.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise Conflict(f"port {port} on {host} is already in use; choose another with --port") from exc
        raise Conflict(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    finally:
        probe.close()
