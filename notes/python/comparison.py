"""The tutorial's comparison (四), timed the way 09_comparison times it.

Run from the repository's root:
    python3.11 notes/python/comparison.py            # n = 1,000,000, the tutorial's size
    python3.11 notes/python/comparison.py 10000000   # a larger n (about 15 seconds)

Each method runs the job twice (two workers); the time is the median of
three runs, and the speedup is against the sequential time.
"""
import multiprocessing as mp
import queue
import statistics
import sys
import threading
import time


def job(n, q):
    result = 0
    for i in range(n):
        result += i + i**2
    q.put(result)


def sequential(n):
    q = queue.Queue()
    job(n, q)
    job(n, q)
    return q.get() + q.get()


def threads(n):
    q = queue.Queue()
    workers = [threading.Thread(target=job, args=(n, q)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return q.get() + q.get()


def processes(n):
    q = mp.Queue()
    workers = [mp.Process(target=job, args=(n, q)) for _ in range(2)]
    for w in workers:
        w.start()
    results = q.get() + q.get()  # get before join: a full pipe would block the child
    for w in workers:
        w.join()
    return results


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    expected = 2 * (n - 1) * n * (n + 1) // 3
    print(f"Python {sys.version.split()[0]}, switch interval {sys.getswitchinterval()} s,"
          f" start method {mp.get_start_method()}")
    print(f"2 jobs, each the sum of i + i*i for i below {n:,}: {expected}")
    base = None
    for name, method in [("sequential", sequential), ("2 threads", threads),
                         ("2 processes", processes)]:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            assert method(n) == expected
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        base = base or median
        print(f"{name:>12}: {median * 1e3:8.1f} ms -> {base / median:.2f}x")


if __name__ == "__main__":
    main()
