"""Fork and spawn in Python: the start cost and what the child inherits.

Run: python3 notes/python/12_start_methods.py
"""
import multiprocessing as mp
import time

SETTING = 1  # main sets it to 2 before starting any child
STARTS = 20


def report_setting(seen):
    seen.value = SETTING


def child_sees(method):
    context = mp.get_context(method)
    seen = context.Value('i', 0)
    child = context.Process(target=report_setting, args=(seen,))
    child.start()
    child.join()
    return seen.value


if __name__ == '__main__':
    SETTING = 2
    print(f"start + join, average of {STARTS} children:")
    for method in ("fork", "spawn"):
        start = time.perf_counter()
        for _ in range(STARTS):
            child_sees(method)
        each = (time.perf_counter() - start) * 1e3 / STARTS
        print(f"  {method:>5}: {each:.2f} ms")
    print(f"   fork: the child sees {child_sees('fork')}")
    print(f"  spawn: the child sees {child_sees('spawn')}")
