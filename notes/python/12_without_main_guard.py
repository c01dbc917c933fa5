"""Spawn without `if __name__ == '__main__':` — the child re-runs this file's
top level, tries to start a child of its own, and multiprocessing stops it.

Run: python3 notes/python/12_without_main_guard.py
"""
import multiprocessing as mp


def job():
    print("job ran")


spawn = mp.get_context("spawn")
child = spawn.Process(target=job)
child.start()
child.join()
print(f"child exit code: {child.exitcode}")
