"""How many threads BLAS may use, switched through one controller per process.

``threadpoolctl.threadpool_limits`` looks for the loaded BLAS libraries on every call, which
took 10–13 ms in a Flywheel process (it inspects every loaded shared library): more than a
recommender's whole EASE fit on ML-100K. The controller here looks once, at its first use.
"""

from __future__ import annotations

from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    # numpy and scipy each bring their own OpenBLAS; scipy's loads with scipy.linalg, which must come first
    # or the controller would never see it.
    import scipy.linalg  # noqa: F401

    return ThreadpoolController()


def blas_threads(limit: int):
    """A context manager: BLAS runs at most ``limit`` threads in this process while it is open.

    The limit is process-wide, as BLAS's own setting is: callers in several threads share it. It
    reaches the BLAS libraries loaded when it was first used (numpy's and scipy's); a library that
    checks every loaded BLAS itself (implicit) is better called under ``threadpool_limits``.
    """
    return _controller().limit(limits=limit, user_api="blas")
