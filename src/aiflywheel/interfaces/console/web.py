"""What every console page shares: templates, the session dependencies, CSRF, and errors as pages.

Pages call the kernel exactly as the REST routes do (through ``app.state.api``); where a
REST route does more than one kernel call (a promotion also refreshes serving routes), the
console calls that route's function rather than repeating its steps.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from aiflywheel.errors import FlywheelError
from aiflywheel.interfaces.console.session import CSRF_FIELD, CSRF_HEADER, Session, Sessions, SignInRequired
from aiflywheel.interfaces.rest.errors import render as render_json_error
from aiflywheel.kernel.keys import Principal, Role
from aiflywheel.kernel.platform import Platform

logger = logging.getLogger(__name__)

PACKAGE = files("aiflywheel.interfaces.console")
NAVIGATION = [
    ("/", "Overview"),
    ("/datasets", "Datasets"),
    ("/training", "Training"),
    ("/models", "Models"),
    ("/endpoints", "Endpoints"),
    ("/flywheel", "Flywheel"),
]

templates = Environment(
    loader=FileSystemLoader(str(PACKAGE / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
LONGEST_SHOWN = 120  # characters of one string shown in a page: base64 audio and images are megabytes


def brief(value: Any) -> Any:
    """``value`` for showing in a page: long strings (base64 audio, images) cut, with their length said."""
    if isinstance(value, str) and len(value) > LONGEST_SHOWN:
        return f"{value[:LONGEST_SHOWN]}… ({len(value):,} characters)"
    if isinstance(value, dict):
        return {key: brief(item) for key, item in value.items()}
    if isinstance(value, list):
        return [brief(item) for item in value]
    return value


templates.filters["tojson_pretty"] = lambda value: json.dumps(value, indent=2, default=str)
templates.filters["brief"] = brief
templates.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def sessions(request: Request) -> Sessions:
    return request.app.state.console_sessions


def current_session(request: Request) -> Session:
    """The visitor's session; a new, signed-out one (set on the response) if they have none."""
    if not hasattr(request.state, "console_session"):
        found = sessions(request).read(request)
        request.state.console_session_is_new = found is None
        request.state.console_session = found or sessions(request).new()
    return request.state.console_session


def signed_in(request: Request) -> Principal:
    session = current_session(request)
    if not session.signed_in:
        raise SignInRequired(request.url.path)
    request.state.console_visitor = sessions(request).principal(session)
    return request.state.console_visitor


Visitor = Annotated[Principal, Depends(signed_in)]


def console_platform(request: Request, visitor: Visitor) -> Platform:
    return request.app.state.api.for_project(visitor.project_id)


ProjectPlatform = Annotated[Platform, Depends(console_platform)]


async def csrf_checked(request: Request) -> None:
    """Every state-changing console request carries the session's CSRF token (form field or header)."""
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        submitted = (await request.form()).get(CSRF_FIELD)
    session = sessions(request).read(request)
    sessions(request).check_csrf(session, submitted if isinstance(submitted, str) else None)


def writer(visitor: Visitor) -> Principal:
    visitor.require(Role.WRITER)
    return visitor


Writer = Annotated[Principal, Depends(writer)]
CsrfChecked = Depends(csrf_checked)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with what the layout needs; sets the session cookie if it is new."""
    session = current_session(request)
    visitor = getattr(request.state, "console_visitor", None)
    html = templates.get_template(template).render(
        request=request,
        navigation=NAVIGATION,
        path=request.url.path,
        csrf_token=sessions(request).csrf_token(session),
        csrf_field=CSRF_FIELD,
        visitor=visitor,
        signed_in=session.signed_in,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.state.console_session_is_new:
        response.set_cookie(**sessions(request).cookie(session))
    return response


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
        "accept", ""
    )


class ConsoleRoute(APIRoute):
    """A console route: a Flywheel error becomes a page saying what is wrong (JSON for script calls),
    with the error's own 4xx status; a missing session becomes a redirect to the sign-in page."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as missing:
                return redirect(f"/sign-in?next={quote(missing.next_path)}")
            except FlywheelError as error:
                if wants_json(request):
                    return render_json_error(error)
                if error.http_status == 401:
                    return redirect(f"/sign-in?next={quote(request.url.path)}")
                return page(request, "error.html", status_code=error.http_status, error=error)

        return handle


def json_response(document: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(json.loads(json.dumps(document, default=str)), status_code=status_code)
