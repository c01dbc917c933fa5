//! The process half: the same bounded buffer, start line and stop signal with `mp`'s
//! process-shared primitives.

use std::time::Duration;

use mp::{Barrier, Event, Process, Queue, Semaphore};

/// How long the parent waits for the runners. A runner killed before it reaches the line is a
/// party no barrier can know of, and the other runner still lives: without a limit (as in
/// Python) the parent would wait for ever.
const PATIENCE: Duration = Duration::from_secs(5);

/// Puts `items` numbers in the buffer, never more than the semaphore's permits ahead.
fn producer((slots, buffer, items): (Semaphore, Queue<u32>, u32)) {
    for item in 0..items {
        slots.acquire().expect("a free place").forget(); // the consumer gives it back
        buffer.put(item).expect("the parent reads the buffer");
    }
}

/// A producer process fills a buffer of `capacity` places; what the parent took from it.
pub fn bounded_buffer(capacity: usize, items: u32) -> mp::Result<Vec<u32>> {
    let (slots, buffer) = (Semaphore::new(capacity)?, Queue::new()?); // Semaphore(2)
    let mut p = Process::new(producer, (slots.clone(), buffer.clone(), items));
    p.start()?;
    let mut taken = Vec::new();
    for _ in 0..items {
        taken.push(buffer.get()?);
        slots.release()?; // one more free place
    }
    p.join()?;
    Ok(taken)
}

/// Waits at the start line, says which place it got, then runs until the stop signal.
fn runner((line, stop, places): (Barrier, Event, Queue<usize>)) {
    places.put(line.wait().expect("nobody breaks it")).unwrap();
    stop.wait().expect("the parent sets the stop signal");
}

/// Two runner processes and the parent meet at a line, then the parent says stop; the places.
pub fn start_line_and_stop() -> mp::Result<Vec<usize>> {
    let (line, stop, places) = (Barrier::new(3)?, Event::new()?, Queue::new()?);
    let args = (line.clone(), stop.clone(), places.clone());
    let mut runners = [
        Process::new(runner, args.clone()),
        Process::new(runner, args),
    ];
    runners.iter_mut().try_for_each(Process::start)?;
    let wait = |()| places.get_timeout(PATIENCE);
    let got = line
        .wait_timeout(PATIENCE)
        .and_then(|mine| Ok(vec![mine, wait(())?, wait(())?]));
    stop.set(); // every runner's stop.wait() returns, whatever happened above
    runners.iter_mut().try_for_each(|r| r.join().map(drop))?;
    let mut got = got?;
    got.sort();
    Ok(got)
}
