//! `--sweep`: every method at n = 1,000 … 100,000,000, as a table of speedups, and the size
//! from which each parallel method beats sequential code.

use super::measure::measure;
use super::method::Method;
use super::report::{show, speedup, thousands};

/// Times every method at each power of ten up to `largest`, and prints the table.
pub fn sweep(largest: u64, workers: usize) -> mp::Result<()> {
    let mut sizes: Vec<u64> = (3..=8)
        .map(|e| 10u64.pow(e))
        .filter(|&n| n <= largest)
        .collect();
    if sizes.is_empty() {
        sizes.push(largest);
    }
    // Method by method, so that every fork comes before the first thread.
    let mut times = Vec::new();
    for method in Method::ALL {
        let row = sizes.iter().map(|&n| Ok(measure(method, n, workers)?.time));
        times.push(row.collect::<mp::Result<Vec<_>>>()?);
    }
    println!("{workers} jobs; speedup against sequential (more than 1 is faster), medians:");
    print!("{:>12} {:>11}", "n", "sequential");
    for method in &Method::ALL[1..] {
        print!(" {:>7}", method.short());
    }
    println!();
    for (i, &n) in sizes.iter().enumerate() {
        print!("{:>12} {:>11}", thousands(n), show(times[0][i]));
        for row in &times[1..] {
            print!(" {:>6.2}x", speedup(times[0][i], row[i]));
        }
        println!();
    }
    for (method, row) in Method::ALL.iter().zip(&times).skip(1) {
        let faster = |i: usize| row[i] < times[0][i];
        // The smallest n from which this method stays faster.
        let from = (0..sizes.len()).rev().take_while(|&i| faster(i)).last();
        let label = method.label(workers);
        match from {
            Some(i) => println!("{label:>22}: faster from n = {} on", thousands(sizes[i])),
            None => println!("{label:>22}: never faster up to n = {}", thousands(largest)),
        }
    }
    Ok(())
}
