"""Every error Flywheel raises on purpose.

    FlywheelError                 base; carries a stable ``code`` and an ``http_status``
    ├── InvalidInput        400   the caller sent something unusable (a bad file, row, column, parameter)
    │   └── PayloadTooLarge 413   a request body or upload over the configured limit
    ├── Unauthorized        401   no API key, or one that is malformed, unknown or revoked
    ├── Forbidden           403   the key's role does not allow the action
    ├── NotFound            404   a named resource does not exist
    │   └── KindNotFound    404   no kind is registered under that name
    ├── Conflict            409   the resource exists, or is in a state that forbids the action
    ├── KindFailed          500   a kind failed while training or predicting on valid input
    └── Unavailable         503   a Flywheel server cannot be reached (the SDK's connection errors)

Foreign exceptions are translated into these at the kind or backend boundary
(``raise InvalidInput(...) from exc``), so interfaces handle one hierarchy:
the CLI prints ``message`` and exits non-zero; REST renders ``to_dict()``.
"""

from __future__ import annotations


class FlywheelError(Exception):
    """Base of all Flywheel errors; ``message`` is a sentence a person can act on."""

    code = "flywheel_error"
    http_status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidInput(FlywheelError, ValueError):
    """Raised when input (a file, a row, a column name, a parameter) cannot be used as given."""

    code = "invalid_input"
    http_status = 400


class PayloadTooLarge(InvalidInput):
    """Raised when a request body or an upload is larger than the configured limit."""

    code = "payload_too_large"
    http_status = 413


class Unauthorized(FlywheelError):
    """Raised when a request carries no API key, or one that is malformed, unknown or revoked."""

    code = "unauthorized"
    http_status = 401


class Forbidden(FlywheelError):
    """Raised when a valid key's role does not allow the action."""

    code = "forbidden"
    http_status = 403


class NotFound(FlywheelError, LookupError):
    """Raised when a named dataset, job, model version or other resource does not exist."""

    code = "not_found"
    http_status = 404


class KindNotFound(NotFound):
    """Raised when no kind is registered under the requested name."""

    code = "kind_not_found"


class Conflict(FlywheelError):
    """Raised when a resource already exists or its state forbids the requested action."""

    code = "conflict"
    http_status = 409


class KindFailed(FlywheelError):
    """Raised when a kind fails on input that passed validation (a bug or resource limit)."""

    code = "kind_failed"
    http_status = 500


class Unavailable(FlywheelError):
    """Raised by the SDK when the Flywheel server cannot be reached or does not answer in time."""

    code = "unavailable"
    http_status = 503
