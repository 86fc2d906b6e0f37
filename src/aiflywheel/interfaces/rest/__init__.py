"""The REST API (FastAPI): parse, authorize, call the kernel, render. OpenAPI at ``/docs``."""

from aiflywheel.interfaces.rest.app import create_app

__all__ = ["create_app"]
