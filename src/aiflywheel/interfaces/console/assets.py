"""Static files, all served from installed packages: the console's own CSS and script, and
plotly.js from the pinned ``plotly`` wheel. Nothing is fetched from the internet."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

from aiflywheel.errors import NotFound

VENDOR = {"plotly.min.js": ("plotly", "package_data/plotly.min.js")}
CACHE = {"Cache-Control": "public, max-age=86400"}

router = APIRouter(include_in_schema=False)


@router.get("/static/vendor/{name}")
def vendor_asset(name: str) -> FileResponse:
    if name not in VENDOR:
        raise NotFound(f"no vendored asset {name!r}")
    package, inside = VENDOR[name]
    return FileResponse(str(files(package) / inside), media_type="text/javascript", headers=CACHE)


def own_assets() -> StaticFiles:
    return StaticFiles(directory=str(files("aiflywheel.interfaces.console") / "static"))
