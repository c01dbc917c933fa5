"""Python's side of every row of `cargo bench -p mp --bench overhead`.

Run from the repository's root, in the same sitting as the Rust benchmark:
    python3.11 notes/python/overhead.py             # a table, for reading
    python3.11 notes/python/overhead.py --json      # one JSON object a row, for side_by_side.py

Each row does with Python 3.11's `multiprocessing` what the Rust benchmark of
the same name does with `mp`, at the same sizes where Python finishes in a few
seconds (fewer increments and samples where it would not; the row says so).
A row reports the median over its samples, per operation: seconds for a
latency, items or bytes per second for a rate. Rows with no Python
counterpart (the raw floors, atomics) are left out.
"""
import array
import json
import multiprocessing as mp
import statistics
import sys
import time

# The big-message rows use big_messages.py's sizes and result function (run from the
# repository's root, this folder is on the module path).
from big_messages import MESSAGES as BIG_MESSAGES, MIB, mib_result


def noop():
    pass


def identity(x):
    return x


def square(x):
    return x * x


def median_of(samples, run):
    """Median seconds of `run()` over `samples` calls."""
    return statistics.median(run() for _ in range(samples))


def per_item(items, batch):
    """A run for `median_of`: `batch()` once, in seconds per item of it."""
    def run():
        start = time.perf_counter()
        batch()
        return (time.perf_counter() - start) / items

    return run


# ---- starting a process ------------------------------------------------------

def start_join(method):
    ctx = mp.get_context(method)

    def run():
        p = ctx.Process(target=noop)
        start = time.perf_counter()
        p.start()
        p.join()
        assert p.exitcode == 0
        return time.perf_counter() - start

    return run


# ---- round trips ---------------------------------------------------------------

ROUND_TRIPS = 2_000


def apply_async_get(pool):
    def batch():
        for _ in range(ROUND_TRIPS):
            assert pool.apply_async(identity, (7,)).get() == 7

    return per_item(ROUND_TRIPS, batch)


def echo_connection(conn):
    # A forked child holds a copy of the parent's end too, so it would never
    # see end-of-file: the parent says stop with None instead.
    while (x := conn.recv()) is not None:
        conn.send(x)


def pipe_round_trip(ours):
    def batch():
        for _ in range(ROUND_TRIPS):
            ours.send(7)
            assert ours.recv() == 7

    return per_item(ROUND_TRIPS, batch)


def event_echo(ping, pong, stop):
    while True:
        ping.wait()
        ping.clear()
        if stop.is_set():
            return
        pong.set()


def event_ping_pong(ping, pong):
    def batch():
        for _ in range(ROUND_TRIPS):
            ping.set()
            pong.wait()
            pong.clear()

    return per_item(ROUND_TRIPS, batch)


SEMAPHORE_ROUNDS = 100_000


def semaphore_acquire_release(sem):
    def batch():
        for _ in range(SEMAPHORE_ROUNDS):
            sem.acquire()
            sem.release()

    return per_item(SEMAPHORE_ROUNDS, batch)


# ---- bulk work -------------------------------------------------------------------

TASKS = 100_000


def pool_map_tiny(pool):
    def batch():
        assert len(pool.map(square, range(TASKS))) == TASKS

    return per_item(TASKS, batch)


def each_result(pool_iterator, tasks):
    """`imap` or `imap_unordered` of `tasks` tiny tasks, every result taken as it comes."""
    def batch():
        assert sum(1 for _ in pool_iterator(square, range(tasks))) == tasks

    return per_item(tasks, batch)


MESSAGES = 200_000


def produce(q, count):
    for i in range(count):
        q.put(i)


def queue_messages():
    q = mp.Queue()
    start = time.perf_counter()
    producer = mp.Process(target=produce, args=(q, MESSAGES))
    producer.start()
    for i in range(MESSAGES):
        assert q.get() == i
    producer.join()
    return (time.perf_counter() - start) / MESSAGES


# ---- shared memory -----------------------------------------------------------------

# A tenth of the Rust row's 1,000,000 per process: Python takes microseconds each.
INCREMENTS = 100_000


def locked_increments(value, count):
    for _ in range(count):
        with value.get_lock():
            value.value += 1


def lock_around_counter(lock, value, count):
    for _ in range(count):
        with lock:
            value.value += 1


def two_processes(target, args_of):
    def run():
        workers = [mp.Process(target=target, args=args_of()) for _ in range(2)]
        start = time.perf_counter()
        for p in workers:
            p.start()
        for p in workers:
            p.join()
            assert p.exitcode == 0
        return (time.perf_counter() - start) / (2 * INCREMENTS)

    return run


# ---- big messages ---------------------------------------------------------------------

def put_big(q, count, floats):
    payload = array.array("d", [0.5]) * (MIB // 8) if floats else bytes([7]) * MIB
    for _ in range(count):
        q.put(payload)


def queue_big(floats):
    def run():
        q = mp.Queue()
        start = time.perf_counter()
        producer = mp.Process(target=put_big, args=(q, BIG_MESSAGES, floats))
        producer.start()
        for _ in range(BIG_MESSAGES):
            assert len(q.get()) * (8 if floats else 1) == MIB
        producer.join()
        return (time.perf_counter() - start) / (BIG_MESSAGES * MIB)

    return run


def pool_map_big(pool):
    def batch():
        assert len(pool.map(mib_result, range(BIG_MESSAGES))) == BIG_MESSAGES

    return per_item(BIG_MESSAGES * MIB, batch)


# ---- the rows ---------------------------------------------------------------------------

def rows():
    """Yields (name of the Rust bench, unit, seconds per operation, samples)."""
    yield "process_fork_start_join", "time", median_of(100, start_join("fork")), 100
    yield "process_spawn_start_join", "time", median_of(10, start_join("spawn")), 10

    with mp.Pool(1) as pool:
        pool.apply(identity, (0,))  # the worker's start is not part of the row
        yield "pool_apply_async_get", "time", median_of(10, apply_async_get(pool)), 10

    ours, theirs = mp.Pipe()
    child = mp.Process(target=echo_connection, args=(theirs,))
    child.start()
    theirs.close()
    yield "pipe_round_trip", "time", median_of(10, pipe_round_trip(ours)), 10
    ours.send(None)
    child.join()

    ping, pong, stop = mp.Event(), mp.Event(), mp.Event()
    child = mp.Process(target=event_echo, args=(ping, pong, stop))
    child.start()
    yield "event_ping_pong", "time", median_of(10, event_ping_pong(ping, pong)), 10
    stop.set()
    ping.set()
    child.join()

    sem = mp.Semaphore(1)
    yield "semaphore_acquire_release", "time", median_of(10, semaphore_acquire_release(sem)), 10

    with mp.Pool(2) as pool:
        pool.map(square, range(2))
        yield "pool_map_100k_tiny_tasks", "items", median_of(5, pool_map_tiny(pool)), 5
        yield "pool_imap/1000", "items", median_of(10, each_result(pool.imap, 1_000)), 10
        yield "pool_imap_unordered/1000", "items", median_of(10, each_result(pool.imap_unordered, 1_000)), 10
        yield "pool_imap_unordered/100000", "items", median_of(3, each_result(pool.imap_unordered, 100_000)), 3
        yield "pool_map_1mib_results", "bytes", median_of(10, pool_map_big(pool)), 10

    yield "queue_messages_from_one_process", "items", median_of(5, queue_messages), 5

    value = mp.Value("Q", 0)
    yield ("value_locked_increment_2_processes", "items",
           median_of(5, two_processes(locked_increments, lambda: (value, INCREMENTS))), 5)
    lock, plain = mp.Lock(), mp.Value("Q", 0, lock=False)
    yield ("lock_around_counter_2_processes", "items",
           median_of(5, two_processes(lock_around_counter, lambda: (lock, plain, INCREMENTS))), 5)

    yield "queue_1mib_vec_u8_from_one_process", "bytes", median_of(10, queue_big(False)), 10
    yield "queue_1mib_vec_f64_from_one_process", "bytes", median_of(10, queue_big(True)), 10


def human(unit, seconds):
    if unit == "time":
        for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
            if seconds >= scale:
                return f"{seconds / scale:.4g} {name}"
        return f"{seconds / 1e-9:.4g} ns"
    if unit == "bytes":
        return f"{1 / seconds / MIB:,.0f} MiB/s"
    return f"{seconds / 1e-6:.4g} µs per item ({1 / seconds:,.0f}/s)"


if __name__ == "__main__":
    as_json = "--json" in sys.argv[1:]
    unknown = [a for a in sys.argv[1:] if a != "--json"]
    if unknown:
        sys.exit(f"usage: python3.11 notes/python/overhead.py [--json] (unknown: {' '.join(unknown)})")
    print(f"# Python {sys.version.split()[0]}, multiprocessing, start method {mp.get_start_method()}",
          file=sys.stderr)
    for name, unit, seconds, samples in rows():
        if as_json:
            print(json.dumps({"name": name, "unit": unit, "seconds": seconds, "samples": samples}),
                  flush=True)
        else:
            print(f"{name:>38}: {human(unit, seconds)}  (median of {samples})", flush=True)
