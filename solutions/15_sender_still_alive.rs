//! Solution of exercise 15_sender_still_alive: the receiver's loop ends once every sender is
//! dropped, and `main` held one more, the original `tx`, that it never used.
use std::sync::mpsc;
use std::thread;

/// The sum of i * i for i in 0..n, the squares sent by `producers` threads (at least one).
pub fn sum_of_squares(n: u64, producers: u64) -> u64 {
    let (tx, rx) = mpsc::channel();
    for p in 0..producers {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in (p..n).step_by(producers as usize) {
                tx.send(i * i).expect("the receiver is still there");
            }
        });
    }
    drop(tx); // New: only the producers' senders are left; when they end, so does the loop
    rx.iter().sum() // for square in rx: ... until nothing more can come
}

pub fn main() {
    println!("{}", sum_of_squares(10, 2));
}
