//! A ping-pong over a pipe between two processes, beside channels between threads: std's
//! `mpsc`, then crossbeam's shared consumers and `select!` (beyond 三.2 Queue).
//! Run: `cargo run --example 15_pipes_and_channels -- [--rounds N]`
mod threads; // the thread half: std's mpsc, then crossbeam's channels

use std::time::{Duration, Instant};

use mp::{Connection, Process};
use threads::{CAPACITY, CONSUMERS, JOBS, mpsc_between_threads, select_two, shared_consumers};

/// The other player, in a child process: answers each number with the next, until the
/// parent closes its end and `recv` fails.
fn pong(end: Connection<u64>) {
    while let Ok(n) = end.recv() {
        end.send(n + 1).expect("the parent waits for the answer");
    }
}

/// `rounds` round trips over a pipe to a child process; microseconds per round trip.
fn pipe_between_processes(rounds: u64) -> mp::Result<f64> {
    let (here, there) = mp::pipe(true)?; // Pipe(): both ends send and receive
    let mut child = Process::new(pong, there);
    child.start()?;
    let (mut n, start) = (0, Instant::now());
    for _ in 0..rounds {
        here.send(n)?;
        n = here.recv()?;
    }
    let each = start.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    here.shutdown(); // New: shut for the forked child's copy too: its recv fails, it returns
    child.join()?;
    assert_eq!(n, rounds);
    Ok(each)
}

fn main() -> mp::Result<()> {
    mp::init();
    let rounds = rounds_from_command_line();
    let each = pipe_between_processes(rounds)?;
    println!("pipe, 2 processes: {rounds} round trips, {each:.1} µs each");
    let each = mpsc_between_threads(rounds);
    println!("mpsc, 2 threads:   {rounds} round trips, {each:.1} µs each");

    let squares = shared_consumers();
    assert_eq!(squares, (0..JOBS).map(|n| n * n).collect::<Vec<u64>>()); // each job done once
    let sum: u64 = squares.iter().sum();
    let channel = format!("crossbeam bounded({CAPACITY}), {CONSUMERS} consumers");
    println!("{channel}: {JOBS} jobs, each done once, sum of squares {sum}");

    let quiet = Duration::from_millis(50);
    let got = select_two(quiet);
    assert_eq!(got.len(), 2); // both messages, whichever came first
    let got = got.join(", ");
    println!("crossbeam select!: {got}, then nothing for {quiet:?}");
    Ok(())
}

/// `--rounds N` (default 1,000); anything else ends the program with a message and exit code 2.
fn rounds_from_command_line() -> u64 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = match args.as_slice() {
        [] => Ok(1000),
        [flag, n] if flag == "--rounds" => match n.replace('_', "").parse() {
            Ok(n @ 1..=1_000_000) => Ok(n),
            _ => Err(format!(
                "`--rounds {n}`: expected a number from 1 to 1,000,000"
            )),
        },
        _ => Err(format!("unexpected arguments {args:?}")),
    };
    rounds.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        eprintln!("usage: cargo run --example 15_pipes_and_channels -- [--rounds N]");
        eprintln!("  --rounds N  round trips in each ping-pong (default 1,000)");
        std::process::exit(2)
    })
}
