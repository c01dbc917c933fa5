"""The tutorial's job split across MPI ranks with mpi4py, as 18_beyond_one_machine does in Rust:
a barrier, send/recv, gather (and reduce), then a rank that dies on purpose.

Run from the repository's root (pip install mpi4py first; it builds against Open MPI's mpicc):
    mpirun -n 2 python3.11 notes/python/18_beyond_one_machine.py [--n N]
    mpirun -n 2 python3.11 notes/python/18_beyond_one_machine.py --kill-rank 1
    mpirun -n 2 python3.11 notes/python/18_beyond_one_machine.py --raise-rank 1
    mpirun -n 2 python3.11 -m mpi4py notes/python/18_beyond_one_machine.py --raise-rank 1
As root, mpirun also needs --allow-run-as-root.
"""
import argparse
import os
import signal
import time

from mpi4py import MPI


def job(start, end):
    result = 0
    for i in range(start, end):
        result += i + i * i
    return result


def main():
    comm = MPI.COMM_WORLD  # every rank of this run
    rank, size = comm.Get_rank(), comm.Get_size()
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--kill-rank", type=int)
    parser.add_argument("--raise-rank", type=int)
    args = parser.parse_args()

    comm.Barrier()  # the start line
    clock = time.perf_counter()
    part = lambda r: (r * args.n // size, (r + 1) * args.n // size)
    if rank == 0:
        for r in range(1, size):
            comm.send(part(r), dest=r)  # pickles the tuple
        mine = part(0)
    else:
        mine = comm.recv(source=0)
    share = job(*mine)
    if args.raise_rank == rank:
        raise RuntimeError(f"rank {rank} raises on purpose (--raise-rank)")
    if args.kill_rank == rank:
        os.kill(os.getpid(), signal.SIGKILL)

    shares = comm.gather(share, root=0)  # a list on rank 0, None elsewhere
    total = comm.reduce(share, op=MPI.SUM, root=0)  # the same sum, in one call
    took = time.perf_counter() - clock
    if rank == 0:
        print(f"{size} rank(s), n = {args.n}: rank 0 sent each rank its part (send/recv)")
        print(f"gather: {shares}")
        print(total)
        print(f"{took * 1e3:.3f} ms from the barrier to the total")
        n = args.n
        assert total == sum(shares) == (n - 1) * n * (n + 1) // 3


if __name__ == "__main__":
    main()
