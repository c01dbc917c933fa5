"""What Python does in 16_events_and_barriers: a bounded buffer, a start line, a stop signal,
between threads and between processes, and what a party that dies does to each.

Run: python3 notes/python/16_events_and_barriers.py   (about 8 seconds: its waits on dead parties must time out)
"""
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque

CAPACITY, ITEMS = 2, 10


def bounded_buffer_threads():
    buffer, cond = deque(), threading.Condition()
    taken = []

    def producer():
        for item in range(ITEMS):
            with cond:
                cond.wait_for(lambda: len(buffer) < CAPACITY)  # room in the buffer
                buffer.append(item)
                cond.notify_all()

    def consumer():
        for _ in range(ITEMS):
            with cond:
                cond.wait_for(lambda: buffer)  # something to take
                taken.append(buffer.popleft())
                cond.notify_all()

    threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert taken == list(range(ITEMS))
    return taken


def semaphore_producer(slots, items, queue):
    for item in range(ITEMS):
        slots.acquire()  # a free place in the buffer
        queue.put(item)
        items.release()  # one more item to take


def bounded_buffer_processes():
    slots, items, queue = mp.Semaphore(CAPACITY), mp.Semaphore(0), mp.Queue()
    p = mp.Process(target=semaphore_producer, args=(slots, items, queue))
    p.start()
    taken = []
    for _ in range(ITEMS):
        items.acquire()
        taken.append(queue.get())
        slots.release()
    p.join()
    assert taken == list(range(ITEMS))
    return taken


def runner(barrier, places, stop):
    places.put(barrier.wait())  # every party gets a different index, 0 to n-1
    stop.wait()  # until the parent says stop


def start_line_and_stop_processes():
    barrier, stop, places = mp.Barrier(3), mp.Event(), mp.Queue()
    runners = [mp.Process(target=runner, args=(barrier, places, stop)) for _ in range(2)]
    [p.start() for p in runners]
    places_got = [barrier.wait()] + [places.get() for _ in runners]
    stop.set()
    [p.join() for p in runners]
    assert sorted(places_got) == [0, 1, 2]
    return [p.exitcode for p in runners]


def die_before_the_line(barrier):
    os.kill(os.getpid(), signal.SIGKILL)


def dead_party_barrier():
    barrier = mp.Barrier(2)
    p = mp.Process(target=die_before_the_line, args=(barrier,))
    p.start()
    p.join()
    start = time.perf_counter()
    try:
        barrier.wait(timeout=1)  # without a timeout: forever
    except threading.BrokenBarrierError:
        return f"BrokenBarrierError after {time.perf_counter() - start:.1f} s (the timeout, not the death)"


def wait_at_the_line(barrier):
    barrier.wait()


def dead_party_at_the_line():
    barrier = mp.Barrier(3)
    p = mp.Process(target=wait_at_the_line, args=(barrier,))
    p.start()
    while barrier.n_waiting == 0:
        time.sleep(0.001)  # until it is at the line: then kill it there
    p.kill()
    p.join()
    # The wait runs in a thread of its own, so that this script can give up on it.
    waiter = threading.Thread(target=lambda: barrier.wait(timeout=1), daemon=True)
    waiter.start()
    waiter.join(timeout=3)
    if waiter.is_alive():
        return "wait(timeout=1) has not returned after 3 s: even the timeout does not save it"


def die_holding(cond):
    cond.acquire()
    os.kill(os.getpid(), signal.SIGKILL)


def dead_holder_condition():
    cond = mp.Condition()
    p = mp.Process(target=die_holding, args=(cond,))
    p.start()
    p.join()
    if not cond.acquire(timeout=1):  # without a timeout: forever
        return "still held after 1 s; acquire() would wait forever"


def die_with_a_slot(slots):
    slots.acquire()
    os.kill(os.getpid(), signal.SIGKILL)


def dead_holder_semaphore():
    slots = mp.Semaphore(2)
    p = mp.Process(target=die_with_a_slot, args=(slots,))
    p.start()
    p.join()
    return f"value {slots.get_value()} of 2: the dead process's slot is never given back"


def dead_thread_barrier():
    barrier = threading.Barrier(2)
    t = threading.Thread(target=lambda: 1 / 0)  # dies before it reaches the barrier
    t.start()
    t.join()
    try:
        barrier.wait(timeout=1)
    except threading.BrokenBarrierError:
        return "BrokenBarrierError after the 1 s timeout; without one, wait() never returns"


if __name__ == '__main__':
    threading.excepthook = lambda args: None  # the thread's ZeroDivisionError is on purpose
    print(f"Condition, 2 threads, capacity {CAPACITY}: took {bounded_buffer_threads()}")
    print(f"Semaphore, 2 processes, capacity {CAPACITY}: took {bounded_buffer_processes()}")
    print(f"Barrier(3) + Event, 3 processes: runners' exit codes {start_line_and_stop_processes()}")
    print(f"threading.Barrier, a thread died first: {dead_thread_barrier()}")
    print(f"mp.Barrier, a process killed first: {dead_party_barrier()}")
    print(f"mp.Barrier, a process killed at the line: {dead_party_at_the_line()}")
    print(f"mp.Condition, holder killed: {dead_holder_condition()}")
    print(f"mp.Semaphore, holder killed: {dead_holder_semaphore()}")
