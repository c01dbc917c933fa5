"""What Python's multiprocessing does in the three crashes of 13_crash.

Run: python3 notes/python/13_crash.py   (about 6 seconds)

Each wait has a timeout, or this script would never end: that is the lesson.
"""
import multiprocessing as mp
import os
import signal


def job(x):
    if x == 3:
        raise ValueError(f"job refuses {x}")
    return x * x


def killed_mid_task(x):
    os.kill(os.getpid(), signal.SIGKILL)


def hold_and_die(lock):
    lock.acquire()
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == '__main__':
    with mp.Pool(processes=2) as pool:
        # A task that raises: get() re-raises the exception, the pool goes on.
        try:
            pool.apply_async(job, (3,)).get()
        except ValueError as error:
            print(f"job(3) failed: {error!r}")
        # A worker killed mid-task: the pool starts a new worker, but the task
        # is forgotten, and get() without a timeout would wait forever.
        result = pool.apply_async(killed_mid_task, (4,))
        try:
            result.get(timeout=3)
        except mp.TimeoutError:
            print("killed_mid_task(4): no result after 3 s; get() would wait forever")

    # A process killed while holding an mp.Lock: nobody ever releases it.
    lock = mp.Lock()
    holder = mp.Process(target=hold_and_die, args=(lock,))
    holder.start()
    holder.join()
    print(f"lock holder exit code: {holder.exitcode}")
    if not lock.acquire(timeout=3):
        print("lock: still taken after 3 s; acquire() would wait forever")
