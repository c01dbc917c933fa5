"""concurrent.futures, as 17_executors ports it: submit, as_completed and map on a
ThreadPoolExecutor and a ProcessPoolExecutor, then a process worker killed mid-task.

Run from the repository's root:
    python3.11 notes/python/17_executors.py

The last part shows BrokenProcessPool: one killed worker fails the task it ran,
every task still pending, and every later submit.
"""
import os
import signal
import sys
import time
from concurrent.futures import (ProcessPoolExecutor, ThreadPoolExecutor, as_completed)
from concurrent.futures.process import BrokenProcessPool


def job(x):
    return x * x


def killed_mid_task(x):
    os.kill(os.getpid(), signal.SIGKILL)   # dies like kill -9, at a known moment


def the_three_calls(executor, tasks=4):
    futures = [executor.submit(job, x) for x in range(tasks)]
    submitted = [f.result() for f in futures]
    completed = [f.result() for f in as_completed([executor.submit(job, x) for x in range(tasks)])]
    mapped = list(executor.map(job, range(tasks)))
    return submitted, completed, mapped


def per_task(executor, tasks=1000):
    start = time.perf_counter()
    the_three_calls(executor, tasks)
    return (time.perf_counter() - start) / (3 * tasks) * 1e6


if __name__ == '__main__':
    print(f"Python {sys.version.split()[0]}")
    for name, executor in [("ThreadPoolExecutor(2)", ThreadPoolExecutor(max_workers=2)),
                           ("ProcessPoolExecutor(2)", ProcessPoolExecutor(max_workers=2))]:
        with executor:
            submitted, completed, mapped = the_three_calls(executor)
            assert submitted == mapped == sorted(completed) == [0, 1, 4, 9]
            print(f"{name}: submit -> {submitted}, as_completed -> {completed}, map -> {mapped}")
            per_task(executor)   # warm up: start every worker
            print(f"  3 x 1,000 tasks: {per_task(executor):.1f} µs per task")

    # One worker, so that job(5) is still pending when the worker dies: its fate is certain.
    executor = ProcessPoolExecutor(max_workers=1)
    start = time.perf_counter()
    doomed = executor.submit(killed_mid_task, 4)
    after = executor.submit(job, 5)
    for name, future in [("killed_mid_task(4)", doomed), ("job(5), submitted after it", after)]:
        try:
            print(f"{name}: {future.result()}")
        except BrokenProcessPool as error:
            print(f"{name}: {type(error).__name__}: {error}")
    try:
        executor.submit(job, 6)
    except BrokenProcessPool as error:
        print(f"submit(job, 6) afterwards: {type(error).__name__}: {error}")
    executor.shutdown()
    print(f"the kill and its aftermath: {(time.perf_counter() - start) * 1e3:.1f} ms")
