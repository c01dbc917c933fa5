"""The job of 14_big_data in Python: one big array of floats summed four ways.

Run from the repository's root:
    python3.11 notes/python/14_big_data.py             # n = 1,000,000, the lesson's default
    python3.11 notes/python/14_big_data.py 10000000    # n = 10,000,000

Each way's time is the best of three runs. Then what pickling a half costs,
in-band (what mp.Queue does) and with protocol 5's out-of-band buffers.
"""
import array
import multiprocessing as mp
import pickle
import sys
import threading
import time
from multiprocessing import shared_memory


def sum_sent_half(halves, sums):
    half = halves.get()              # unpickled: a copy of the parent's half
    sums.put(sum(memoryview(half)))


def sum_shared_half(name, lo, hi, sums):
    block = shared_memory.SharedMemory(name=name)   # attach: no copy
    numbers = block.buf.cast('d')
    sums.put(sum(numbers[lo:hi]))    # a memoryview slice: still no copy
    numbers.release()
    block.close()


def sequential(data):
    return sum(memoryview(data))    # the same kind of loop as the threads and processes run


def two_threads(data):
    view, half = memoryview(data), len(data) // 2
    sums = []
    workers = [threading.Thread(target=lambda part: sums.append(sum(part)), args=(part,))
               for part in (view[:half], view[half:])]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sums[0] + sums[1]


def two_processes_queue(data):
    halves, sums, half = mp.Queue(), mp.Queue(), len(data) // 2
    workers = [mp.Process(target=sum_sent_half, args=(halves, sums)) for _ in range(2)]
    for w in workers:
        w.start()
    halves.put(data[:half])          # slicing an array copies; put pickles the copy
    halves.put(data[half:])
    total = sums.get() + sums.get()
    for w in workers:
        w.join()
    return total


def two_processes_shared(data):
    block = shared_memory.SharedMemory(create=True, size=len(data) * 8)
    try:
        numbers = block.buf.cast('d')
        numbers[:] = memoryview(data)   # written once
        numbers.release()
        sums, half = mp.Queue(), len(data) // 2
        workers = [mp.Process(target=sum_shared_half, args=(block.name, lo, hi, sums))
                   for lo, hi in ((0, half), (half, len(data)))]
        for w in workers:
            w.start()
        total = sums.get() + sums.get()
        for w in workers:
            w.join()
        return total
    finally:
        block.close()
        block.unlink()                  # or the block outlives the program in /dev/shm


def best_of_three(way, data):
    times, total = [], None
    for _ in range(3):
        start = time.perf_counter()
        total = way(data)
        times.append(time.perf_counter() - start)
    return total, min(times)


if __name__ == '__main__':
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    data = array.array('d', (i % 1000 for i in range(n)))
    r = n % 1000
    expected = float((n // 1000) * 499_500 + r * (r - 1) // 2)
    mb = n * 8 / 1e6
    print(f"Python {sys.version.split()[0]}, start method {mp.get_start_method()}: "
          f"the sum of {n} numbers ({mb:.1f} MB): {expected:.0f}")
    for name, way in [("sequential", sequential), ("2 threads", two_threads),
                      ("2 processes, Queue", two_processes_queue),
                      ("2 processes, shared_memory", two_processes_shared)]:
        total, seconds = best_of_three(way, data)
        assert total == expected, (name, total, expected)
        print(f"{name:>28}: {seconds * 1e3:8.1f} ms")

    half = data[: n // 2]
    start = time.perf_counter()
    in_band = pickle.dumps(half, protocol=5)
    in_band_ms = (time.perf_counter() - start) * 1e3
    buffers = []
    start = time.perf_counter()
    out_of_band = pickle.dumps(pickle.PickleBuffer(half), protocol=5,
                               buffer_callback=buffers.append)
    out_of_band_ms = (time.perf_counter() - start) * 1e3
    back = pickle.loads(out_of_band, buffers=buffers)
    assert memoryview(back).cast('B') == memoryview(half).cast('B')
    print(f"pickling a half ({len(half) * 8 / 1e6:.1f} MB), protocol 5:")
    print(f"  in-band:     {len(in_band):>10} bytes of pickle, {in_band_ms:.2f} ms")
    print(f"  out-of-band: {len(out_of_band):>10} bytes of pickle + "
          f"{sum(memoryview(b).nbytes for b in buffers)} bytes left where they were, "
          f"{out_of_band_ms:.3f} ms")
