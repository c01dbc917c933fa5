"""Python's side of the big-message rows of `cargo bench -p mp --bench overhead`.

Run from the repository's root, in the same sitting as the Rust benchmark:
    python3.11 notes/python/big_messages.py

The same jobs as the Rust rows: 64 messages of 1 MiB of bytes from one
producer process to the parent through mp.Queue (the producer's start
included, as in the Rust row), and a Pool of two workers whose map returns
64 results of 1 MiB each. Prints the median of ten runs and the range, in MiB/s.
"""
import multiprocessing as mp
import statistics
import time

MIB = 1 << 20
MESSAGES = 64
RUNS = 10


def put_mib_bytes(q, count):
    payload = bytes([7]) * MIB
    for _ in range(count):
        q.put(payload)


def queue_bytes():
    q = mp.Queue()
    start = time.perf_counter()
    producer = mp.Process(target=put_mib_bytes, args=(q, MESSAGES))
    producer.start()
    for _ in range(MESSAGES):
        assert len(q.get()) == MIB
    producer.join()
    return time.perf_counter() - start


def mib_result(i):
    return bytes([i % 256]) * MIB


def pool_map(pool):
    start = time.perf_counter()
    results = pool.map(mib_result, range(MESSAGES))
    assert len(results) == MESSAGES
    return time.perf_counter() - start


def report(what, seconds):
    rates = sorted(MESSAGES / s for s in seconds)  # MiB/s: one message is 1 MiB
    print(f"{what:>34}: {statistics.median(rates):7.0f} MiB/s "
          f"(range {rates[0]:.0f}-{rates[-1]:.0f}, {RUNS} runs)")


if __name__ == "__main__":
    report("mp.Queue, 1 MiB bytes", [queue_bytes() for _ in range(RUNS)])
    with mp.Pool(2) as pool:
        pool_map(pool)  # the workers' first task pays for their start
        report("Pool.map, 1 MiB results", [pool_map(pool) for _ in range(RUNS)])
