//! The tutorial's job split across MPI ranks, processes that may sit on other machines: send and
//! receive, gather, a barrier (beyond 四 对比). Build with `cargo build --features mpi --example
//! 18_beyond_one_machine`, run with `mpirun -n 2 target/debug/examples/18_beyond_one_machine`.
mod args;
mod crash;

use std::hint::black_box;
use std::time::Instant;

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// The tutorial's job, on this rank's part of the numbers: `start..end`.
fn job(start: u64, end: u64) -> u128 {
    let mut result = 0;
    for i in start..end {
        let i = black_box(i); // as in lesson 09: keep LLVM from replacing the loop by a formula
        result += u128::from(i + i * i);
    }
    result
}

/// A collective (06's `Pool.map`): every rank's share lands on rank 0, in rank order; the other
/// ranks get `None`. MPI has no 128-bit integer, so a share travels as its 16 bytes.
fn gather(world: &SimpleCommunicator, share: u128) -> Option<Vec<u128>> {
    let root = world.process_at_rank(0);
    if world.rank() != 0 {
        root.gather_into(&share.to_le_bytes()[..]);
        return None;
    }
    let mut bytes = vec![0; 16 * world.size() as usize];
    root.gather_into_root(&share.to_le_bytes()[..], &mut bytes[..]);
    let shares = bytes
        .chunks(16)
        .map(|b| u128::from_le_bytes(b.try_into().unwrap()));
    Some(shares.collect())
}

fn main() {
    let universe = mpi::initialize().expect("MPI is started once, here"); // New: no mp::init()
    let world = universe.world(); // COMM_WORLD: every rank of this run, this one included
    let (rank, size) = (world.rank(), world.size());
    let args = args::from_command_line(rank, size); // every rank reads the same command line
    crash::abort_the_job_on_panic(); // a rank that panics must not leave the others waiting

    world.barrier(); // the start line (16's Barrier): every rank has started
    let clock = Instant::now();

    // Point to point (15's Pipe): rank 0 hands each other rank its part of 0..n.
    let part = |r: i32| {
        [
            r as u64 * args.n / size as u64,
            (r + 1) as u64 * args.n / size as u64,
        ]
    };
    let mut mine = part(0);
    if rank == 0 {
        (1..size).for_each(|r| world.process_at_rank(r).send(&part(r)));
    } else {
        world.process_at_rank(0).receive_into(&mut mine);
    }
    let share = job(mine[0], mine[1]);
    crash::if_asked(&args, rank); // --kill-rank R, --panic-rank R

    let Some(shares) = gather(&world, share) else {
        return; // ranks other than 0 are done
    };
    let total: u128 = shares.iter().sum();
    let took = clock.elapsed();

    let n = args.n;
    println!("{size} rank(s), n = {n}: rank 0 sent each rank its part of 0..{n} (send/receive)");
    println!("gather: {shares:?} (one share per rank, like pool.map's list)");
    println!("{total}");
    println!("{took:.1?} from the barrier to the total");
    assert_eq!(
        total,
        u128::from(n - 1) * u128::from(n) * u128::from(n + 1) / 3
    );
}
