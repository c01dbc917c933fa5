//! Who held the GIL when: one row of 60 columns per thread, on one time axis.

use std::ops::Range;
use std::time::{Duration, SystemTime};

/// Prints, for each thread, when it held the GIL during the `total` that began at `start`.
pub fn timeline(threads: [Vec<Range<SystemTime>>; 2], start: SystemTime, total: Duration) {
    let ms = total.as_secs_f64() * 1e3;
    println!("who held the GIL during those {ms:.1} ms:");
    for (thread, held) in threads.iter().enumerate() {
        println!("  thread {} |{}|", thread + 1, bar(held, start, total));
    }
}

/// One row of 60 columns over `total` from `start`: `#` where the thread held the GIL at
/// the middle of the column.
fn bar(held: &[Range<SystemTime>], start: SystemTime, total: Duration) -> String {
    let held_at = |column: usize| {
        let at = start + total.mul_f64((column as f64 + 0.5) / 60.0);
        held.iter().any(|span| span.contains(&at))
    };
    (0..60)
        .map(|c| if held_at(c) { '#' } else { '.' })
        .collect()
}
