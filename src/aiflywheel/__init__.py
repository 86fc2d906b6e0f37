"""Flywheel: a self-hosted AI cloud. The names here are the public Python API; the rest may change.

Examples
--------
>>> from aiflywheel import Platform, Settings
>>> platform = Platform(Settings.build(home="/tmp/flywheel-doc"))  # doctest: +SKIP
>>> job = platform.train("tabular", "claims", {"target": "FraudFound_P"})  # doctest: +SKIP
"""

from importlib.metadata import version as _version

from aiflywheel.errors import Conflict, FlywheelError, InvalidInput, KindFailed, KindNotFound, NotFound
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.registry import Stage
from aiflywheel.settings import Settings

__version__ = _version("aiflywheel")

__all__ = [
    "Conflict",
    "FlywheelError",
    "InvalidInput",
    "JobState",
    "KindFailed",
    "KindNotFound",
    "NotFound",
    "Platform",
    "Settings",
    "Stage",
    "__version__",
]
