//! Impostor of 14_borrow_in_scope: compiles by copying each half into a `Vec` of its own, the
//! copy the exercise asks to avoid. The check must reject it.
use std::thread;

fn sum(numbers: &[f64]) -> f64 {
    numbers.iter().sum()
}

pub fn sum_by_halves(data: &[f64]) -> f64 {
    let (left, right) = data.split_at(data.len() / 2);
    let (left, right) = (left.to_vec(), right.to_vec());
    let left = thread::spawn(move || sum(&left));
    let right = thread::spawn(move || sum(&right));
    left.join().unwrap() + right.join().unwrap()
}

pub fn main() {
    let data: Vec<f64> = (0..1_000_000).map(|i| (i % 1000) as f64).collect();
    println!("{}", sum_by_halves(&data));
}
