"""Two processes and a queue, as in the tutorial's 三.2, with no `if __name__ == '__main__':`.

Under fork (Linux's default in Python 3.11) a child does not run this file again, so the
program works without the guard. Under spawn it does not: see 12_without_main_guard.py.

Run: python3.11 notes/python/04_without_main_guard.py
"""
import multiprocessing as mp


def job(queue):
    queue.put(sum(i + i * i for i in range(1000)))


queue = mp.Queue()
workers = [mp.Process(target=job, args=(queue,)) for _ in range(2)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(queue.get(), queue.get())
print("start method:", mp.get_start_method())
