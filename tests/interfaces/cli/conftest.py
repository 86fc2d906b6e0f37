"""Running the ``flywheel`` command in-process, as the CLI tests do."""

from __future__ import annotations

from pathlib import Path

from aiflywheel.interfaces.cli import main


def run_flywheel(home: Path, store_url: str, capsys, *args: str) -> tuple[int, str, str]:
    """``flywheel --home HOME --store URL ARGS...``: exit code, stdout and stderr."""
    try:
        main(["--home", str(home), "--store", store_url, *args])
        code = 0
    except SystemExit as exit:
        code = exit.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err
