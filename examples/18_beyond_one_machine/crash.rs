//! A rank that dies on purpose (`--kill-rank`, `--panic-rank`), and the panic hook that ends the
//! whole job when one rank panics.

use mpi::topology::{Communicator, SimpleCommunicator};

use super::args::Args;

/// Kills or panics this rank if the command line asks for it.
pub fn if_asked(args: &Args, rank: i32) {
    if args.panic_rank == Some(rank) {
        panic!("rank {rank} panics on purpose (--panic-rank)");
    }
    if args.kill_rank == Some(rank) {
        // SAFETY: kill has no memory-safety preconditions; SIGKILL, which no code can catch,
        // ends this process here, the way a crashed machine or `kill -9` ends a rank.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

/// After the panic message, ends every rank of the job (MPI_Abort). Without this, the panic
/// unwinds into MPI_Finalize, which waits for the other ranks, and they wait for this one.
pub fn abort_the_job_on_panic() {
    let print_the_message = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        print_the_message(info);
        SimpleCommunicator::world().abort(101) // mpirun ends every rank, and exits with 101
    }));
}
