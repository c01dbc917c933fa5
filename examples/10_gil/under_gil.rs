//! The job as a Python thread runs it: only while holding the GIL, letting go when asked
//! (10_gil's lesson, beside `gil.rs`; 09_comparison and its benchmark borrow it too).

use std::ops::Range;
use std::time::SystemTime;

use super::gil::Gil;

/// Loop turns between two looks at the drop request. CPython looks between bytecodes; every
/// 1,000 turns is cheaper and still answers within microseconds.
const TICK: u64 = 1_000;

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
        if gil.drop_requested() {
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
