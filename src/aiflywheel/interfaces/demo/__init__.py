"""``flywheel demo``: the flywheel turning on real data, end to end, on a fresh home."""

from aiflywheel.interfaces.demo.claims import DemoResult, RoundResult, find_data, run_demo

__all__ = ["DemoResult", "RoundResult", "find_data", "run_demo"]
