"""Run the ``flywheel`` command in-process, as a test would type it."""

from __future__ import annotations


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """``flywheel ARGS`` through its real entry point; returns (exit code, stdout, stderr)."""
    from aiflywheel.interfaces.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exit:
        code = exit.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err
