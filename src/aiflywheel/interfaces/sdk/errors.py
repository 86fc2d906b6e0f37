"""Errors from the wire: a REST error body becomes the same ``FlywheelError`` class the server raised.

The body is ``{"error": {"code": ..., "message": ...}}``; the class is found by ``code``
among every ``FlywheelError`` subclass (``aiflywheel.errors`` first, then the kernel's own,
such as ``JobCancelled``). A code no class claims (``internal``, ``method_not_allowed``)
falls back to the class of its HTTP status, keeping the server's code and status.
"""

from __future__ import annotations

import httpx

from aiflywheel import errors
from aiflywheel.errors import FlywheelError, Unavailable
from aiflywheel.kernel.jobs import JobCancelled

_BY_STATUS: dict[int, type[FlywheelError]] = {
    400: errors.InvalidInput,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    422: errors.InvalidInput,
    503: errors.Unavailable,
}


def _subclasses(base: type[FlywheelError]) -> list[type[FlywheelError]]:
    found = []
    for child in base.__subclasses__():
        found += [child, *_subclasses(child)]
    return found


def error_classes() -> dict[str, type[FlywheelError]]:
    """Every known error code and its class; the ``aiflywheel.errors`` classes win a shared code."""
    ours = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, FlywheelError)]
    classes: dict[str, type[FlywheelError]] = {}
    for cls in [*ours, JobCancelled, *_subclasses(FlywheelError)]:
        classes.setdefault(cls.code, cls)
    return classes


def from_response(response: httpx.Response) -> FlywheelError:
    """The error a failed response stands for, with the server's message."""
    try:
        body = response.json()["error"]
        code, message = str(body["code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        text = response.text.strip().replace("\n", " ")[:200] or response.reason_phrase
        code, message = "", f"HTTP {response.status_code} from {response.request.url}: {text}"
    cls = error_classes().get(code) or _BY_STATUS.get(response.status_code, FlywheelError)
    error = cls(message)
    if code and code != cls.code or response.status_code != cls.http_status:
        error.code, error.http_status = code or cls.code, response.status_code  # keep what the server said
    return error


def unreachable(url: str, exc: httpx.TransportError) -> Unavailable:
    """A connection failure or timeout, said so that the reader knows what to check."""
    if isinstance(exc, httpx.TimeoutException):
        return Unavailable(f"Flywheel at {url} did not answer in time ({type(exc).__name__}); is it overloaded?")
    return Unavailable(f"cannot reach Flywheel at {url}: {exc}; is `flywheel up` running?")
