"""Flywheel: a self-hosted AI cloud. The names here are the public Python API; the rest may change.

``Client`` talks to a running Flywheel over REST; ``Platform`` works on a store directly.

Examples
--------
>>> from aiflywheel import Client
>>> client = Client("http://127.0.0.1:8080", api_key="fw_...")  # doctest: +SKIP
>>> answer = client.predict("claims", [{"Make": "Honda", "Age": 31}])  # doctest: +SKIP
>>> from aiflywheel import Platform, Settings
>>> platform = Platform(Settings.build(home="/tmp/flywheel-doc"))  # doctest: +SKIP
>>> job = platform.train("tabular", "claims", {"target": "FraudFound_P"})  # doctest: +SKIP
"""

from importlib.metadata import version as _version

from aiflywheel.errors import (
    Conflict,
    FlywheelError,
    Forbidden,
    InvalidInput,
    KindFailed,
    KindNotFound,
    NotFound,
    Unauthorized,
    Unavailable,
)
from aiflywheel.interfaces.sdk import Client
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.registry import Stage
from aiflywheel.settings import Settings

__version__ = _version("aiflywheel")

__all__ = [
    "Client",
    "Conflict",
    "FlywheelError",
    "Forbidden",
    "InvalidInput",
    "JobState",
    "KindFailed",
    "KindNotFound",
    "NotFound",
    "Platform",
    "Settings",
    "Stage",
    "Unauthorized",
    "Unavailable",
    "__version__",
]
