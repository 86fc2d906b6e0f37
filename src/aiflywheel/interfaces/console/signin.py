"""Signing in with an API key, and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from aiflywheel.errors import Unauthorized
from aiflywheel.interfaces.console.web import ConsoleRoute, CsrfChecked, current_session, page, redirect, sessions

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this server: an open redirect would let a link send a signed-in person anywhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/"):
    return page(request, "sign_in.html", next=safe_next(next), error=None)


@router.post("/sign-in", dependencies=[CsrfChecked])
def sign_in(request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
    try:
        principal = request.app.state.api.auth.keys.authenticate(key.strip())
    except Unauthorized as error:
        current_session(request)
        return page(request, "sign_in.html", status_code=401, next=safe_next(next), error=error)
    response = redirect(safe_next(next))
    response.set_cookie(**sessions(request).cookie(sessions(request).new(principal)))  # a fresh nonce: new CSRF token
    return response


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request):
    response = redirect("/sign-in")
    response.set_cookie(**sessions(request).cookie(sessions(request).new()))
    return response
