//! What the comparison prints: each method's median time and speedup, and the number
//! formats they share with the sweep.

use std::time::Duration;

use super::measure::measure;
use super::method::Method;
use super::timeline::timeline;

/// Times every method at one size, and prints one line for each, then the timeline.
pub fn compare(n: u64, workers: usize) -> mp::Result<()> {
    let timings = Method::ALL.map(|method| measure(method, n, workers));
    let timings = timings.into_iter().collect::<mp::Result<Vec<_>>>()?;
    println!(
        "{workers} jobs, each the sum of i + i*i for i below {}:",
        thousands(n)
    );
    println!("  {}, found by every method", super::expected(n, workers));
    let sequential = timings[0].time;
    for (method, timing) in Method::ALL.iter().zip(&timings) {
        let label = method.label(workers);
        print!("{label:>22}: {:>9}", show(timing.time));
        if *method == Method::Sequential {
            println!();
        } else {
            println!(" -> {:.2}x", speedup(sequential, timing.time));
        }
    }
    if workers <= 8 {
        timeline(&timings, workers);
    } else {
        println!("(the timeline is drawn for up to 8 workers)");
    }
    println!("Every parallel method pays to start its workers; see where that pays off: --sweep");
    Ok(())
}

/// How many times faster than `sequential` a method that took `time` was.
pub fn speedup(sequential: Duration, time: Duration) -> f64 {
    sequential.as_secs_f64() / time.as_secs_f64()
}

/// A duration in the unit that suits it.
pub fn show(time: Duration) -> String {
    match time.as_secs_f64() {
        s if s < 1e-3 => format!("{:.1} µs", s * 1e6),
        s if s < 1.0 => format!("{:.1} ms", s * 1e3),
        s => format!("{s:.2} s"),
    }
}

/// 1000000 as 1,000,000.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect();
    groups.join(",")
}
