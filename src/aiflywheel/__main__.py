"""``python -m aiflywheel`` is the ``flywheel`` command."""

from aiflywheel.interfaces.cli import main

main()
