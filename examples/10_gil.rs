//! Two threads under one global lock, handed over every 5 ms as CPython's GIL is: no speedup
//! (beyond the tutorial; why 四 对比's threads lose): `cargo run --release --example 10_gil`.

use std::hint::black_box;
use std::ops::Range;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// CPython's default switch interval, `sys.getswitchinterval()`: 0.005 s.
const SWITCH_INTERVAL: Duration = Duration::from_millis(5);

/// Loop turns between two looks at `drop_request`. CPython looks between bytecodes; every
/// 1,000 turns is cheaper and still answers within microseconds.
const TICK: u64 = 1_000;

/// A global interpreter lock: a thread must hold it to run "Python bytecode".
#[derive(Default)]
pub struct Gil {
    state: Mutex<State>,
    changed: Condvar,
    /// Set by a thread that waited a whole switch interval in vain: the holder must let go.
    drop_request: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Whether a thread holds the GIL.
    held: bool,
    /// How many times the GIL has been taken: a change means it changed hands.
    taken: u64,
}

impl Gil {
    fn acquire(&self) {
        let mut state = self.state.lock().unwrap();
        while state.held {
            let taken = state.taken;
            let (new_state, wait) = self.changed.wait_timeout(state, SWITCH_INTERVAL).unwrap();
            state = new_state;
            if wait.timed_out() && state.taken == taken {
                self.drop_request.store(true, Ordering::Relaxed); // a whole interval: my turn
            }
        }
        state.held = true;
        state.taken += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        self.changed.notify_all();
    }

    fn release(&self) {
        self.state.lock().unwrap().held = false;
        self.changed.notify_all();
    }

    /// Hands the GIL to the thread that asked for it, then queues up again.
    fn switch(&self) {
        let mut state = self.state.lock().unwrap();
        let taken = state.taken;
        state.held = false;
        self.changed.notify_all();
        // The fair hand-over: wait until the other thread has it (CPython's FORCE_SWITCHING).
        // Without this loop we would take it straight back before the other thread woke up.
        while state.taken == taken {
            state = self.changed.wait(state).unwrap();
        }
        drop(state);
        self.acquire();
    }
}

/// The tutorial's job: the sum of `i + i*i` for `i` in `numbers` (see 09_comparison).
#[inline(never)]
fn job(numbers: Range<u64>) -> u128 {
    let mut result = 0;
    for i in numbers {
        let i = black_box(i);
        result += u128::from(i + i * i);
    }
    result
}

/// `job(0..n)` as a Python thread runs it: only while holding the GIL. Returns the result
/// and the spans of (wall-clock) time this thread held the GIL.
pub fn job_under_gil(
    gil: &Gil,
    n: u64,
    job: fn(Range<u64>) -> u128,
) -> (u128, Vec<Range<SystemTime>>) {
    let (mut result, mut held) = (0, Vec::new());
    gil.acquire();
    let mut since = SystemTime::now();
    for start in (0..n).step_by(TICK as usize) {
        if gil.drop_request.load(Ordering::Relaxed) {
            held.push(since..SystemTime::now());
            gil.switch();
            since = SystemTime::now();
        }
        result += job(start..n.min(start + TICK));
    }
    held.push(since..SystemTime::now());
    gil.release();
    (result, held)
}

/// How far each job counts: far enough for a few dozen switch intervals, in either build.
const N: u64 = if cfg!(debug_assertions) {
    10_000_000
} else {
    50_000_000
};

fn main() -> ExitCode {
    if std::env::args().len() > 1 {
        eprintln!("error: 10_gil takes no arguments (change N or SWITCH_INTERVAL in the source)");
        return ExitCode::from(2);
    }
    let expected = 2 * u128::from(N - 1) * u128::from(N) * u128::from(N + 1) / 3;

    let clock = Instant::now();
    let sequential = job(0..N) + job(0..N);
    let sequential_time = clock.elapsed();

    let clock = Instant::now();
    let free = thread::scope(|s| {
        let threads = [s.spawn(|| job(0..N)), s.spawn(|| job(0..N))];
        threads.map(|t| t.join().unwrap()).iter().sum::<u128>()
    });
    let free_time = clock.elapsed();

    let gil = Gil::default();
    let (start, clock) = (SystemTime::now(), Instant::now());
    let [(a, held_1), (b, held_2)] = thread::scope(|s| {
        let threads = [
            s.spawn(|| job_under_gil(&gil, N, job)),
            s.spawn(|| job_under_gil(&gil, N, job)),
        ];
        threads.map(|t| t.join().unwrap())
    });
    let gil_time = clock.elapsed();

    assert_eq!([sequential, free, a + b], [expected; 3]);
    println!("two jobs, each the sum of i + i*i for i below {N}: {expected}, from all three");
    let ms = |time: Duration| time.as_secs_f64() * 1e3;
    let speedup = |time: Duration| ms(sequential_time) / ms(time);
    println!("        sequential: {:7.1} ms", ms(sequential_time));
    println!(
        "         2 threads: {:7.1} ms -> {:.2}x",
        ms(free_time),
        speedup(free_time)
    );
    println!(
        "2 threads with GIL: {:7.1} ms -> {:.2}x",
        ms(gil_time),
        speedup(gil_time)
    );
    println!("who held the GIL during those {:.1} ms:", ms(gil_time));
    for (name, held) in [("thread 1", held_1), ("thread 2", held_2)] {
        let bar: String = (0..60)
            .map(|column| {
                let at = start + gil_time.mul_f64((column as f64 + 0.5) / 60.0);
                if held.iter().any(|span| span.contains(&at)) {
                    '#'
                } else {
                    '.'
                }
            })
            .collect();
        println!("  {name} |{bar}|");
    }
    let taken = gil.state.lock().unwrap().taken;
    println!("the GIL was taken {taken} times, and never held by both threads at once");
    ExitCode::SUCCESS
}
