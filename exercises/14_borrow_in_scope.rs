//! Exercise 14_borrow_in_scope: the compiler teaches.
//! Lesson: notes/14_big_data.md. Check it: `cargo exercise 14_borrow_in_scope`
//!
//! `sum_by_halves` sums a big slice with two threads, one per half, each reading its half where
//! it is. It does not compile: read what the compiler says about the borrowed data. Make it
//! compile without copying the data (the check counts the bytes your threads allocate).
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::thread;

fn sum(numbers: &[f64]) -> f64 {
    numbers.iter().sum()
}

/// The sum of `data`: two threads, each borrowing one half.
pub fn sum_by_halves(data: &[f64]) -> f64 {
    let (left, right) = data.split_at(data.len() / 2);
    let left = thread::spawn(move || sum(left));
    let right = thread::spawn(move || sum(right));
    left.join().expect("a sum cannot panic") + right.join().expect("a sum cannot panic")
}

pub fn main() {
    let data: Vec<f64> = (0..1_000_000).map(|i| (i % 1000) as f64).collect();
    println!("{}", sum_by_halves(&data));
}
