"""Serving the console from the REST app (``create_app`` calls ``install_console``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from aiflywheel.interfaces.console import assets, data_pages, flywheel_pages, model_pages, signin
from aiflywheel.interfaces.console.session import Sessions, load_secret

UPLOAD_PATHS = ("/datasets",)  # console routes that take a dataset file: they get the upload size limit


def install_console(app: FastAPI, secret_file: Path, secure_cookie: bool = False) -> None:
    """Serve the console from ``app`` (built by ``create_app``: it needs ``app.state.api``)."""
    app.state.console_sessions = Sessions(load_secret(secret_file), app.state.api.auth.keys, secure_cookie)
    app.mount("/static/console", assets.own_assets(), name="console-static")
    for router in (assets.router, signin.router, data_pages.router, model_pages.router, flywheel_pages.router):
        app.include_router(router)
