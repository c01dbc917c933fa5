//! Queue's Python vocabulary: `try_put`/`try_get` (put_nowait/get_nowait),
//! `qsize`, `empty`, `full` and `close`, between threads and across fork and
//! spawn, with a producer killed at a known point.

mod harness;

use std::collections::BTreeSet;
use std::process::ExitCode;

use mp::{ErrorKind, ExitStatus, Process, Queue, StartMethod, TryPutError};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

/// More small messages than any pipe holds: `try_put` must be refused first.
const MORE_THAN_A_PIPE_HOLDS: u64 = 1 << 20;

fn assert_kind(result: mp::Result<impl std::fmt::Debug>, expected: fn(&ErrorKind) -> bool) {
    match result {
        Err(err) if expected(err.kind()) => {}
        other => panic!("unexpected outcome: {other:?}"),
    }
}

/// Puts with `try_put` until the pipe refuses; returns how many went in.
fn fill(q: &Queue<u64>) -> u64 {
    for n in 0..MORE_THAN_A_PIPE_HOLDS {
        match q.try_put(n) {
            Ok(()) => {}
            Err(err) if matches!(err.kind(), ErrorKind::QueueFull) => return n,
            Err(err) => panic!("try_put: {err}"),
        }
    }
    panic!("the pipe never filled up");
}

fn try_get_takes_what_is_there_and_never_waits() {
    let q: Queue<u64> = Queue::new().unwrap();
    assert_kind(q.try_get(), |k| matches!(k, ErrorKind::QueueEmpty));
    q.put(7).unwrap();
    q.put(8).unwrap();
    assert_eq!(q.try_get().unwrap(), 7);
    assert_eq!(q.try_get().unwrap(), 8);
    assert_kind(q.try_get(), |k| matches!(k, ErrorKind::QueueEmpty));
    // The refusal says what to do instead.
    let text = q.try_get().unwrap_err().to_string();
    assert!(text.contains("get_timeout"), "{text}");
}

fn try_put_is_refused_when_the_pipe_is_full_and_full_says_so() {
    let q: Queue<u64> = Queue::new().unwrap();
    assert!(!q.full().unwrap());
    let n = fill(&q);
    assert!(n > 0);
    assert!(q.full().unwrap());
    assert_eq!(q.qsize(), n as usize);
    // Nothing refused went in, and nothing was lost or reordered.
    let drained: Vec<u64> = (0..n).map(|_| q.try_get().unwrap()).collect();
    assert_eq!(drained, (0..n).collect::<Vec<_>>());
    assert_kind(q.try_get(), |k| matches!(k, ErrorKind::QueueEmpty));
    assert!(!q.full().unwrap());
    assert!(q.empty().unwrap());
    assert_eq!(q.qsize(), 0);
}

fn a_long_message_refused_by_a_full_pipe_leaves_the_queue_whole() {
    let small: Queue<Vec<u8>> = Queue::new().unwrap();
    let mut n = 0;
    while small.try_put(vec![1]).is_ok() {
        n += 1;
    }
    // A message far longer than its 64-byte record, refused at its start.
    // The refused item comes back whole, as crossbeam's `TrySendError::Full` gives it back.
    match small.try_put(vec![9; 100_000]) {
        Err(refused @ TryPutError::Full(_)) => {
            assert!(matches!(refused.kind(), ErrorKind::QueueFull));
            assert!(refused.to_string().contains("no room"), "{refused}");
            assert_eq!(refused.into_item(), Some(vec![9; 100_000]));
        }
        other => panic!("expected the item back as TryPutError::Full, got {other:?}"),
    }
    for _ in 0..n {
        assert_eq!(small.get().unwrap(), [1]);
    }
    // Not broken: a long message still goes through, whole.
    small.put(vec![2; 1000]).unwrap();
    assert_eq!(small.get().unwrap(), vec![2; 1000]);
    assert_eq!(small.qsize(), 0);
}

fn put_three_nowait((q, first): (Queue<u64>, u64)) {
    for i in first..first + 3 {
        q.try_put(i).unwrap();
    }
}

fn try_put_from_a_child_is_seen_by_the_parent() {
    for method in METHODS {
        let q: Queue<u64> = Queue::new().unwrap();
        let mut p = Process::new(put_three_nowait, (q.clone(), 10)).start_method(method);
        p.start().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        // The count lives in shared memory: the child's puts count here.
        assert_eq!(q.qsize(), 3, "{method:?}");
        assert!(!q.empty().unwrap());
        let got: Vec<u64> = (0..3).map(|_| q.try_get().unwrap()).collect();
        assert_eq!(got, [10, 11, 12]);
        assert_eq!(q.qsize(), 0);
    }
}

/// Reports the queue's size as the child sees it, then takes two items.
fn report_size_and_take_two((q, report): (Queue<u64>, Queue<usize>)) {
    report.put(q.qsize()).unwrap();
    q.try_get().unwrap();
    q.try_get().unwrap();
    report.put(q.qsize()).unwrap();
}

fn qsize_is_one_count_for_every_process() {
    for method in METHODS {
        let q: Queue<u64> = Queue::new().unwrap();
        let report: Queue<usize> = Queue::new().unwrap();
        for i in 0..5 {
            q.put(i).unwrap();
        }
        let mut p = Process::new(report_size_and_take_two, (q.clone(), report.clone()))
            .start_method(method);
        p.start().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        assert_eq!(report.get().unwrap(), 5, "{method:?}");
        assert_eq!(report.get().unwrap(), 3, "{method:?}");
        assert_eq!(q.qsize(), 3);
        assert_eq!(q.get().unwrap(), 2, "the child took the first two");
    }
}

fn two_threads_try_get_every_item_exactly_once() {
    const ITEMS: u64 = 200;
    let q: Queue<u64> = Queue::new().unwrap();
    for i in 0..ITEMS {
        q.put(i).unwrap();
    }
    let take_all = |q: Queue<u64>| {
        let mut taken = Vec::new();
        loop {
            match q.try_get() {
                Ok(item) => taken.push(item),
                Err(err) if matches!(err.kind(), ErrorKind::QueueEmpty) => return taken,
                Err(err) => panic!("try_get: {err}"),
            }
        }
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| take_all(q.clone()));
        let b = s.spawn(|| take_all(q.clone()));
        (a.join().unwrap(), b.join().unwrap())
    });
    // Each thread took its items in the order they were put.
    assert!(a.is_sorted() && b.is_sorted());
    let all: BTreeSet<u64> = a.iter().chain(&b).copied().collect();
    assert_eq!(all.len(), a.len() + b.len(), "an item came twice");
    assert_eq!(all, (0..ITEMS).collect());
    assert_eq!(q.qsize(), 0);
}

/// Gets one item through a queue its parent closed, and reports it.
fn get_through_a_closed_queue((q, report): (Queue<u64>, Queue<u64>)) {
    report.put(q.get().unwrap()).unwrap();
}

fn close_bars_this_process_and_no_other() {
    for method in METHODS {
        let q: Queue<u64> = Queue::new().unwrap();
        let report: Queue<u64> = Queue::new().unwrap();
        q.put(41).unwrap();
        let other_handle = q.clone();
        q.close();
        // Every handle of this process is closed, for both directions.
        assert_kind(q.put(1), |k| matches!(k, ErrorKind::QueueClosed));
        assert_kind(other_handle.try_put(1).map_err(mp::Error::from), |k| {
            matches!(k, ErrorKind::QueueClosed)
        });
        assert_kind(q.get(), |k| matches!(k, ErrorKind::QueueClosed));
        assert_kind(other_handle.try_get(), |k| {
            matches!(k, ErrorKind::QueueClosed)
        });
        // A child started afterwards still uses its own handle.
        let mut p = Process::new(get_through_a_closed_queue, (q.clone(), report.clone()))
            .start_method(method);
        p.start().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        assert_eq!(report.get().unwrap(), 41, "{method:?}");
    }
}

/// Puts two items, then dies at once, killed by the one signal nobody can catch.
fn put_two_then_die(q: Queue<u64>) {
    q.put(1).unwrap();
    q.try_put(2).unwrap();
    // SAFETY: kill has no memory-safety preconditions; this process ends here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
}

fn what_a_killed_producer_put_is_counted_and_taken() {
    for method in METHODS {
        let q: Queue<u64> = Queue::new().unwrap();
        let mut p = Process::new(put_two_then_die, q.clone()).start_method(method);
        p.start().unwrap();
        assert_eq!(
            p.join().unwrap(),
            ExitStatus::Signal(libc::SIGKILL),
            "{method:?}"
        );
        assert_eq!(q.qsize(), 2, "{method:?}");
        assert_eq!(q.try_get().unwrap(), 1);
        assert_eq!(q.try_get().unwrap(), 2);
        assert_kind(q.try_get(), |k| matches!(k, ErrorKind::QueueEmpty));
        // Nobody is left who could put: a waiting get says so.
        assert_kind(q.get(), |k| matches!(k, ErrorKind::QueueAbandoned));
    }
}

fn main() -> ExitCode {
    harness::run(tests![
        try_get_takes_what_is_there_and_never_waits,
        try_put_is_refused_when_the_pipe_is_full_and_full_says_so,
        a_long_message_refused_by_a_full_pipe_leaves_the_queue_whole,
        try_put_from_a_child_is_seen_by_the_parent,
        qsize_is_one_count_for_every_process,
        two_threads_try_get_every_item_exactly_once,
        close_bars_this_process_and_no_other,
        what_a_killed_producer_put_is_counted_and_taken,
    ])
}
