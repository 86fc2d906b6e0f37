import os

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


def test_thread_executor_runs_here():
    executor = open_executor("thread", 1)
    assert executor.submit(os.getpid).result() == os.getpid()
    executor.shutdown()


def test_unknown_executor():
    with pytest.raises(InvalidInput, match="executor 'ray'"):
        open_executor("ray", 1)
