import os
import signal

import pytest

from aiflywheel.backends.executor import open_executor
from aiflywheel.errors import InvalidInput


def test_process_executor_runs_each_task_in_a_fresh_process():
    executor = open_executor("process", 2)
    pids = {executor.submit(os.getpid).result(timeout=60) for _ in range(2)}
    executor.shutdown()
    assert os.getpid() not in pids and len(pids) == 2


def test_each_process_gets_its_share_of_the_cores():
    executor = open_executor("process", 2)
    executor.threads_per_task = 3  # as if the machine had 6 cores
    assert executor.submit(os.getenv, "OMP_NUM_THREADS").result(timeout=60) == "3"
    executor.shutdown()


def test_a_job_process_takes_ctrl_c_while_it_runs_a_task_and_ignores_it_between_tasks(monkeypatch):
    """Ctrl-C reaches the whole process group: an idle worker that took it in its queue's lock hung the exit."""
    from aiflywheel.backends.executor import _THREAD_VARIABLES, _prepare_worker

    executor = open_executor("process", 1)
    during_a_task = executor.submit(signal.getsignal, signal.SIGINT).result(timeout=60)  # a stdlib call: no import
    assert during_a_task is signal.default_int_handler
    executor.shutdown()
    for variable in _THREAD_VARIABLES:
        monkeypatch.setenv(variable, "0")  # restored after the test, as the handler is below
    previous = signal.getsignal(signal.SIGINT)
    try:
        _prepare_worker(1)  # what a new worker process runs before its first task
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_thread_executor_runs_here():
    executor = open_executor("thread", 1)
    assert executor.submit(os.getpid).result() == os.getpid()
    executor.shutdown()


def test_unknown_executor():
    with pytest.raises(InvalidInput, match="executor 'ray'"):
        open_executor("ray", 1)
