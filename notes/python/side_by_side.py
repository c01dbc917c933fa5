"""Runs `cargo bench -p mp --bench overhead`, then notes/python/overhead.py, and
prints every row side by side: mp, its raw floor from the same run, Python.

Run from the repository's root, on a quiet machine:
    python3.11 notes/python/side_by_side.py [FILTER ...]

FILTERs are passed to the benchmark (divan runs the benches whose names contain
one of them); Python runs every row and only the matching ones are shown.
Both programs run one right after the other, so the columns come from one
sitting. Each figure is a median (divan's, and overhead.py's over its
samples); compare the ratios, not the times, with another sitting's.
"""
import json
import re
import subprocess
import sys

# Each crate row, the raw floor it is compared with, and what a figure is.
ROWS = [
    ("process_fork_start_join", "raw_fork_waitpid", "time"),
    ("process_spawn_start_join", "raw_rerun_binary", "time"),
    ("pool_apply_async_get", "raw_pipe_ping_pong", "time"),
    ("pipe_round_trip", "raw_pipe_ping_pong", "time"),
    # The same round trips beside the least that keeps their promises: a
    # pool's parent and worker each watch the other's pidfd as they wait; a
    # Connection is a socket pair, as Python's duplex Pipe() is, and its recv
    # waits in slices of 50 ms (see the Echo bench in crates/mp/benches).
    ("pool_apply_async_get", "raw_pipe_ping_pong_watched", "time"),
    ("pipe_round_trip", "raw_socket_ping_pong_sliced", "time"),
    ("event_ping_pong", "raw_futex_ping_pong", "time"),
    ("semaphore_acquire_release", "raw_atomic_take_give", "time"),
    ("pool_map_100k_tiny_tasks", None, "items"),
    ("pool_imap_unordered/1000", "pool_imap/1000", "items"),
    ("pool_imap_unordered/100000", "pool_imap_unordered/1000", "items"),
    ("queue_messages_from_one_process", "raw_pipe_messages", "items"),
    ("value_locked_increment_2_processes", "raw_std_mutex_increment_2_threads", "items"),
    ("lock_around_counter_2_processes", "raw_std_mutex_increment_2_threads", "items"),
    ("value_atomic_increment_2_processes", "raw_atomic_increment_2_threads", "items"),
    ("queue_1mib_vec_u8_from_one_process", "raw_pipe_1mib_messages", "bytes"),
    ("queue_1mib_vec_f64_from_one_process", "raw_pipe_1mib_messages", "bytes"),
    ("pool_map_1mib_results", "raw_pipe_1mib_messages", "bytes"),
]

TIME = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
RATE = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}


def parse_divan(text):
    """{bench name: seconds per operation}: per item or per byte where divan
    prints a throughput line, else per iteration."""
    lines = text.splitlines()
    found = {}
    group = None
    for i, line in enumerate(lines):
        row = re.match(r"^([│ ]*)[├╰]─ (\w+)\s+(.*)$", line)
        if not row:
            continue
        depth, name, cells = len(row.group(1)), row.group(2), row.group(3).split("│")
        if depth == 0:
            group = name
        elif group:
            name = f"{group}/{name}"  # a bench with `args`: one row per argument
        if len(cells) < 3 or not cells[2].strip():
            continue  # a group heading, not a bench
        number, unit = cells[2].split()
        seconds = float(number) * TIME[unit]
        after = lines[i + 1].split("│") if i + 1 < len(lines) else []
        rate = re.match(r"\s*([\d.]+) ([KMG]?)(item|B)/s", after[-4]) if len(after) > 4 else None
        if rate:
            seconds = 1 / (float(rate.group(1)) * RATE[rate.group(2)])
        found[name] = seconds
    return found


def show(kind, seconds):
    if seconds is None:
        return ""
    if kind == "bytes":
        return f"{1 / seconds / (1 << 20):,.0f} MiB/s"
    for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {name}"
    return f"{seconds / 1e-9:.3g} ns"


def main():
    filters = sys.argv[1:]
    if any(f.startswith("-") for f in filters):
        sys.exit("usage: python3.11 notes/python/side_by_side.py [FILTER ...]")
    bench = subprocess.run(
        ["cargo", "bench", "-p", "mp", "--bench", "overhead", "--", *filters],
        capture_output=True, text=True)
    if bench.returncode != 0:
        sys.exit(f"cargo bench failed:\n{bench.stderr[-3000:]}")
    rust = parse_divan(bench.stdout)
    python = subprocess.run(
        [sys.executable, "notes/python/overhead.py", "--json"], capture_output=True, text=True)
    if python.returncode != 0:
        sys.exit(f"overhead.py failed:\n{python.stderr[-3000:]}")
    py = {row["name"]: row["seconds"] for row in map(json.loads, python.stdout.splitlines())}

    print("| row | mp | floor, same run | mp / floor | Python 3.11 | mp's speed-up on Python |")
    print("|---|---|---|---|---|---|")
    for name, floor, kind in ROWS:
        if filters and not any(f in name for f in filters):
            continue
        ours, base, theirs = rust.get(name), rust.get(floor), py.get(name)
        # Time over the floor's time; for a rate (MiB/s), the rate over the floor's rate.
        over = f"{ours / base:.2f}×" if ours and base else ""
        if over and kind == "bytes":
            over = f"{base / ours:.2f}×"
        speed = f"{theirs / ours:.1f}×" if ours and theirs else ""
        print(f"| `{name}` | {show(kind, ours)} | {show(kind, base)} {floor or ''} | {over} "
              f"| {show(kind, theirs)} | {speed} |")


if __name__ == "__main__":
    main()
