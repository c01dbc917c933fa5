//! Solution of exercise 14_borrow_in_scope: scoped threads may borrow, because the scope ends
//! only after they have; `thread::spawn` wants `'static` data.
use std::thread;

fn sum(numbers: &[f64]) -> f64 {
    numbers.iter().sum()
}

/// The sum of `data`: two threads, each borrowing one half.
pub fn sum_by_halves(data: &[f64]) -> f64 {
    let (left, right) = data.split_at(data.len() / 2);
    thread::scope(|s| {
        let left = s.spawn(move || sum(left));
        let right = s.spawn(move || sum(right));
        left.join().expect("a sum cannot panic") + right.join().expect("a sum cannot panic")
    })
}

pub fn main() {
    let data: Vec<f64> = (0..1_000_000).map(|i| (i % 1000) as f64).collect();
    println!("{}", sum_by_halves(&data));
}
