//! Solution of exercise 15_producer_consumer: the producer's end of the channel is dropped when
//! it returns, and that is the consumer's `None`: its loop ends.
use std::sync::mpsc;
use std::thread;

fn producer(tx: mpsc::Sender<u64>, n: u64) {
    for i in 0..n {
        tx.send(i).expect("the consumer is still there");
    }
} // `tx` is dropped here: nothing more will come

fn consumer(rx: mpsc::Receiver<u64>) -> Vec<u64> {
    rx.iter().map(|item| item * item).collect()
}

/// The squares of 0..n, in order: one thread sends the numbers, another squares them.
pub fn squares(n: u64) -> Vec<u64> {
    let (tx, rx) = mpsc::channel(); // queue.Queue()
    let producer = thread::spawn(move || producer(tx, n));
    let consumer = thread::spawn(move || consumer(rx));
    producer.join().expect("the producer panicked");
    consumer.join().expect("the consumer panicked")
}

pub fn main() {
    println!("{:?}", squares(5));
}
