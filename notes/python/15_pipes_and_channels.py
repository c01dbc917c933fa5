"""What Python does in 15_pipes_and_channels: a Pipe between two processes, queues between threads.

Run: python3 notes/python/15_pipes_and_channels.py   (about a second)
"""
import multiprocessing as mp
import queue
import threading
import time
from multiprocessing.connection import wait

ROUNDS = 10_000


def pong(conn, other_end):
    other_end.close()  # the parent's end, inherited by fork: close it, or recv never sees EOF
    try:
        while True:
            conn.send(conn.recv() + 1)
    except EOFError:  # the parent closed its end: the game is over
        pass


def pipe_round_trip():
    parent_end, child_end = mp.Pipe()  # duplex: both ends send and receive
    p = mp.Process(target=pong, args=(child_end, parent_end))
    p.start()
    child_end.close()
    n = 0
    start = time.perf_counter()
    for _ in range(ROUNDS):
        parent_end.send(n)
        n = parent_end.recv()
    elapsed = time.perf_counter() - start
    parent_end.close()
    p.join()
    assert n == ROUNDS
    return elapsed / ROUNDS


def queue_round_trip():
    pings, pongs = queue.Queue(), queue.Queue()  # one-way each, like two mpsc channels

    def player():
        while (n := pings.get()) is not None:
            pongs.put(n + 1)

    t = threading.Thread(target=player)
    t.start()
    n = 0
    start = time.perf_counter()
    for _ in range(ROUNDS):
        pings.put(n)
        n = pongs.get()
    elapsed = time.perf_counter() - start
    pings.put(None)  # queue.Queue cannot be closed (before 3.13): a sentinel ends the player
    t.join()
    assert n == ROUNDS
    return elapsed / ROUNDS


def shared_consumers():
    jobs, results = queue.Queue(maxsize=4), queue.Queue()  # bounded, and any thread may get

    def worker():
        while (n := jobs.get()) is not None:
            results.put(n * n)

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for w in workers:
        w.start()
    for n in range(20):
        jobs.put(n)  # blocks while four jobs are waiting
    for _ in workers:
        jobs.put(None)  # one sentinel per consumer
    for w in workers:
        w.join()
    squares = sorted(results.get() for _ in range(20))
    assert squares == [n * n for n in range(20)]
    return sum(squares)


def wait_on_two_pipes():
    numbers_r, numbers_w = mp.Pipe(duplex=False)  # the first end receives, the second sends
    words_r, words_w = mp.Pipe(duplex=False)
    numbers_w.send(7)
    words_w.send("seven")
    got = []
    start = time.perf_counter()
    while ready := wait([numbers_r, words_r], timeout=0.05):
        for conn in ready:
            got.append(conn.recv())
    waited = time.perf_counter() - start
    return got, waited


if __name__ == '__main__':
    print(f"Pipe, 2 processes: {ROUNDS} round trips, {pipe_round_trip() * 1e6:.1f} us each")
    print(f"queue.Queue, 2 threads: {ROUNDS} round trips, {queue_round_trip() * 1e6:.1f} us each")
    print(f"queue.Queue(maxsize=4), 3 consumers: 20 jobs, sum of squares {shared_consumers()}")
    got, waited = wait_on_two_pipes()
    print(f"connection.wait on two pipes: got {got}, then nothing for 50 ms ({waited * 1e3:.0f} ms in all)")
