//! The text timeline: when each worker of each method was busy, drawn on one time axis.

use std::ops::Range;
use std::time::{Duration, SystemTime};

use super::measure::Timing;
use super::method::Method;
use super::report::show;

/// Draws when each worker of each method was busy, on one time axis.
pub fn timeline(timings: &[Timing], workers: usize) {
    let axis = timings.iter().map(|timing| timing.time).max().unwrap();
    println!(
        "when each worker was busy (#), on one axis from 0 to {}:",
        show(axis)
    );
    for (method, timing) in Method::ALL.iter().zip(timings) {
        for (worker, run) in timing.runs.iter().enumerate() {
            let label = if worker == 0 {
                method.label(workers)
            } else {
                String::new()
            };
            println!(
                "{label:>22} {} |{}|",
                worker + 1,
                bar(&run.busy, timing.start, axis)
            );
        }
    }
}

/// One row of the timeline: a column per 1/60 of `axis`, `#` where the worker was busy
/// for at least half of that column.
fn bar(busy: &[Range<SystemTime>], start: SystemTime, axis: Duration) -> String {
    let offset = |t: SystemTime| t.duration_since(start).unwrap_or_default().as_secs_f64();
    let width = axis.as_secs_f64() / 60.0;
    let column = |c: usize| {
        let (from, to) = (c as f64 * width, (c + 1) as f64 * width);
        let overlaps = busy
            .iter()
            .map(|span| offset(span.end).min(to) - offset(span.start).max(from));
        if overlaps.map(|o| o.max(0.0)).sum::<f64>() >= width / 2.0 {
            '#'
        } else {
            '.'
        }
    };
    (0..60).map(column).collect()
}
