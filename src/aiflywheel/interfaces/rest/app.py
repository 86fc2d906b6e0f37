"""The FastAPI application: built from a platform and a serving runtime, no module-level state."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version

from fastapi import FastAPI

from aiflywheel.interfaces.console.install import UPLOAD_PATHS, install_console
from aiflywheel.interfaces.rest import errors
from aiflywheel.interfaces.rest.auth import Authenticator
from aiflywheel.interfaces.rest.bots import router as bots_router
from aiflywheel.interfaces.rest.flywheel import router as flywheel_router
from aiflywheel.interfaces.rest.language import router as language_router
from aiflywheel.interfaces.rest.limits import BodyLimit
from aiflywheel.interfaces.rest.resources import router as resources
from aiflywheel.interfaces.rest.serving import router as serving_router
from aiflywheel.interfaces.rest.speech import UPLOAD_ENDINGS as SPEECH_UPLOAD_ENDINGS
from aiflywheel.interfaces.rest.speech import router as speech_router
from aiflywheel.interfaces.rest.vision import router as vision_router
from aiflywheel.kernel.keys import Keys
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.serving import Serving


@dataclass
class Api:
    """What every route needs, kept on ``app.state.api``."""

    platform: Platform
    serving: Serving
    auth: Authenticator
    max_upload_bytes: int

    def for_project(self, project_id: int) -> Platform:
        return self.platform.in_project(project_id)


def create_app(
    platform: Platform,
    serving: Serving,
    max_body_bytes: int = 10 * 1024 * 1024,
    max_upload_bytes: int = 2 * 1024**3,
    console: bool = True,
) -> FastAPI:
    """The REST API over ``platform``; invocations go through ``serving``; the web console at ``/``."""
    app = FastAPI(
        title="Flywheel",
        version=version("aiflywheel"),
        description="A self-hosted AI cloud: datasets, training jobs, a model registry, endpoints, feedback, "
        "and the flywheel that retrains on it. "
        "Every call except /healthz needs `Authorization: Bearer KEY`.",
    )
    app.state.api = Api(platform, serving, Authenticator(Keys(platform.engine)), max_upload_bytes)
    errors.install(app)
    app.include_router(serving_router)  # first: the invocation route is matched on every prediction
    app.include_router(resources)
    app.include_router(flywheel_router)
    app.include_router(bots_router)
    app.include_router(speech_router)
    app.include_router(vision_router)
    app.include_router(language_router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        return {"status": "ok", "version": app.version}

    if console:
        install_console(app, platform.settings.home / "console.secret")
    app.add_middleware(
        BodyLimit,
        max_body=max_body_bytes,
        max_upload=max_upload_bytes,
        upload_paths=("/v1/datasets", *UPLOAD_PATHS),
        upload_endings=SPEECH_UPLOAD_ENDINGS,
    )
    return app
