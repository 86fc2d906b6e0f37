"""Executors run job functions somewhere else than the scheduling loop.

The interface is ``concurrent.futures``' ``submit`` so that a Ray executor can slot in
later. ``process`` (the default) gives every task a fresh spawned process of its
own: a task that crashes or leaks memory cannot take other jobs or the server down.
``thread`` runs tasks in this process, for tests and small machines.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Protocol

from aiflywheel.errors import InvalidInput

EXECUTORS = ("process", "thread")


class Executor(Protocol):
    slots: int

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future: ...

    def shutdown(self, wait: bool = True) -> None: ...


class ProcessExecutor:
    """One spawned process per task, at most ``slots`` at once (the caller keeps count).

    Each task gets an equal share of the cores as its thread budget (``OMP_NUM_THREADS``
    and the like, set before the task imports anything): numerical libraries otherwise
    each start a thread per core, and ``slots`` of them oversubscribe the machine.
    """

    def __init__(self, slots: int, cores: int | None = None):
        self.slots = slots
        self.threads_per_task = max(1, (cores or os.cpu_count() or 1) // slots)
        self._context = multiprocessing.get_context("spawn")
        self._pools: set[ProcessPoolExecutor] = set()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        pool = ProcessPoolExecutor(
            max_workers=1, mp_context=self._context, initializer=_prepare_worker, initargs=(self.threads_per_task,)
        )
        self._pools.add(pool)
        future = pool.submit(_interruptible, fn, *args)

        def release(_: Future) -> None:
            self._pools.discard(pool)
            pool.shutdown(wait=False)

        future.add_done_callback(release)
        return future

    def shutdown(self, wait: bool = True) -> None:
        for pool in list(self._pools):
            pool.shutdown(wait=wait, cancel_futures=True)


def _prepare_worker(threads: int) -> None:
    for variable in _THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    # Ctrl-C reaches the server's whole process group. A worker waiting for its task (or for the word to exit)
    # that took it inside its queue's lock could leave the lock held, and the server's exit then waited for
    # it forever (seen in CI). Between tasks it is ignored; the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interruptible(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with Ctrl-C raising ``KeyboardInterrupt``, as in any process; ignored again after it."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return fn(*args)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class ThreadExecutor:
    def __init__(self, slots: int):
        self.slots = slots
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="flywheel-job")

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


def open_executor(name: str, slots: int) -> Executor:
    if name == "process":
        return ProcessExecutor(slots)
    if name == "thread":
        return ThreadExecutor(slots)
    raise InvalidInput(f"executor {name!r} is not one of {', '.join(EXECUTORS)} (ray:// comes later)")
