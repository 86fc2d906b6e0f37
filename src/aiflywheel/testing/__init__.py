"""Tools for testing Flywheel and its plug-ins: the kind conformance suite and a tiny reference kind."""

from aiflywheel.testing.cli import run_cli
from aiflywheel.testing.conformance import check_kind
from aiflywheel.testing.http import assert_error
from aiflywheel.testing.kinds import BaselineKind, LexiconKind
from aiflywheel.testing.network import free_port
from aiflywheel.testing.waiting import wait_for

__all__ = ["BaselineKind", "LexiconKind", "assert_error", "check_kind", "free_port", "run_cli", "wait_for"]
