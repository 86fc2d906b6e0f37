"""The Python SDK: ``Client`` over the REST API, returning the kernel's own models.

Exported as ``aiflywheel.Client``.
"""

from aiflywheel.interfaces.sdk.client import Client

__all__ = ["Client"]
