"""Errors as JSON: ``{"error": {"code": ..., "message": ...}}`` with the error's HTTP status.

Flywheel errors render with their own code and status; request validation problems
become 400 ``invalid_input`` naming the field; anything else is a logged, bare 500
with no stack trace.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from aiflywheel.errors import FlywheelError

logger = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def render(error: FlywheelError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else None
    return error_response(error.http_status, error.code, error.message, headers)


def describe_validation(error: RequestValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        where = ".".join(location) or "body"
        if item.get("type") == "model_attributes_type" and where == "body":
            problems.append("the body must be a JSON object, sent with 'Content-Type: application/json'")
        elif item.get("type") == "json_invalid":
            problems.append(f"the body is not valid JSON ({item.get('ctx', {}).get('error', 'parse error')})")
        else:
            problems.append(f"{where}: {item.get('msg')}")
    return "; ".join(problems)


def install(app: FastAPI) -> None:
    @app.exception_handler(FlywheelError)
    async def flywheel_error(_: Request, error: FlywheelError) -> JSONResponse:
        return render(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_input", describe_validation(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        message = "no such path; see /docs for the API" if error.status_code == 404 else str(error.detail)
        return error_response(error.status_code, codes.get(error.status_code, "http_error"), message)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_: Request, __: ClientDisconnect) -> Response:
        return Response(status_code=499)  # nobody is listening; nothing worth logging

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        return error_response(500, "internal", "an internal error occurred; the server log has the details")
