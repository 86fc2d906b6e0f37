"""The one BLAS thread switch reaches every BLAS library, whenever it is first used."""

from __future__ import annotations

import subprocess
import sys

FIRST_USE_BEFORE_SCIPY = """
import sys
import numpy
from aiflywheel.kinds.components.blas import blas_threads
assert "scipy.linalg" not in sys.modules, "the check needs scipy's BLAS not yet loaded"
with blas_threads(1):
    import scipy.linalg
    from threadpoolctl import threadpool_info
    loaded = [(info["filepath"], info["num_threads"]) for info in threadpool_info() if info["user_api"] == "blas"]
print(loaded)
assert len(loaded) >= 2 and all(threads == 1 for _, threads in loaded), loaded
"""


def test_the_switch_limits_scipys_blas_even_when_first_used_before_scipy_loads_it():
    """Had it missed scipy's OpenBLAS, implicit (which checks every BLAS) warned, and the warning failed fits."""
    result = subprocess.run([sys.executable, "-c", FIRST_USE_BEFORE_SCIPY], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
