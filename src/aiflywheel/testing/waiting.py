"""Polling helper for tests that watch another process or thread make progress."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], seconds: float = 120.0, interval: float = 0.1) -> bool:
    """Call ``condition`` until it is true (return True) or ``seconds`` pass (return False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False
