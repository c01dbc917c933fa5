//! JoinableQueue: `task_done` and `join` between threads and across fork and
//! spawn, `join_timeout`, too many `task_done`s, and a consumer killed between
//! its `get` and its `task_done`.

mod harness;

use std::process::ExitCode;
use std::time::Duration;

use mp::{ErrorKind, ExitStatus, JoinableQueue, Process, Queue, StartMethod};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

fn assert_kind<T: std::fmt::Debug>(result: mp::Result<T>, expected: fn(&ErrorKind) -> bool) {
    match result {
        Err(err) if expected(err.kind()) => {}
        other => panic!("unexpected outcome: {other:?}"),
    }
}

fn too_often(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::TaskDoneTooOften)
}

/// Takes items until `None`; for each, puts its square on `done`, and only
/// then says the task is done.
fn worker((q, done): (JoinableQueue<Option<u64>>, Queue<u64>)) {
    while let Some(n) = q.get().unwrap() {
        done.put(n * n).unwrap();
        q.task_done().unwrap();
    }
    q.task_done().unwrap();
}

fn task_done_counts_against_put() {
    let q: JoinableQueue<u64> = JoinableQueue::new().unwrap();
    q.join().unwrap(); // nothing put: nothing to wait for
    assert_kind(q.task_done(), too_often);
    q.put(1).unwrap();
    q.put(2).unwrap();
    assert_eq!(q.get().unwrap(), 1);
    q.task_done().unwrap();
    assert!(!q.join_timeout(Duration::ZERO).unwrap(), "one task is left");
    assert_eq!(q.try_get().unwrap(), 2);
    q.task_done().unwrap();
    q.join().unwrap();
    let err = q.task_done().unwrap_err();
    assert!(too_often(err.kind()), "{err}");
    assert!(
        err.to_string().contains("more times than items were put"),
        "{err}"
    );
    // The refused call changed nothing.
    q.put(3).unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    q.join().unwrap();
}

fn join_waits_until_every_item_is_done_in_other_processes() {
    for method in METHODS {
        const ITEMS: u64 = 50;
        let q = JoinableQueue::new().unwrap();
        let done = Queue::new().unwrap();
        let mut workers: Vec<Process> = (0..2)
            .map(|_| {
                let mut p = Process::new(worker, (q.clone(), done.clone())).start_method(method);
                p.start().unwrap();
                p
            })
            .collect();
        for n in 0..ITEMS {
            q.put(Some(n)).unwrap();
        }
        q.join().unwrap();
        // Each worker put its result before its task_done: all are in.
        assert_eq!(done.qsize(), ITEMS as usize, "{method:?}");
        let mut squares: Vec<u64> = (0..ITEMS).map(|_| done.try_get().unwrap()).collect();
        squares.sort();
        assert_eq!(squares, (0..ITEMS).map(|n| n * n).collect::<Vec<_>>());
        q.put(None).unwrap();
        q.put(None).unwrap();
        q.join().unwrap();
        for p in &mut workers {
            assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        }
    }
}

fn join_waits_for_a_thread() {
    let q: JoinableQueue<Option<u64>> = JoinableQueue::new().unwrap();
    let done: Queue<u64> = Queue::new().unwrap();
    std::thread::scope(|s| {
        let (q2, done2) = (q.clone(), done.clone());
        let consumer = s.spawn(move || worker((q2, done2)));
        for n in 0..20 {
            q.put(Some(n)).unwrap();
        }
        // Another thread holds the queue: `join` waits for it, whoever it is.
        q.join().unwrap();
        assert_eq!(done.qsize(), 20);
        q.put(None).unwrap();
        consumer.join().unwrap();
    });
    q.join().unwrap();
}

/// Waits until the parent puts a word.
fn wait_for_word(word: Queue<()>) {
    word.get().unwrap();
}

fn join_timeout_gives_up_then_succeeds() {
    let q: JoinableQueue<u64> = JoinableQueue::new().unwrap();
    // A child that lives through the waits, so that only the timeout ends them.
    let word = Queue::new().unwrap();
    let mut holder = Process::new(wait_for_word, word.clone());
    holder.start().unwrap();
    q.put(5).unwrap();
    assert!(!q.join_timeout(Duration::from_millis(20)).unwrap());
    assert_eq!(q.get().unwrap(), 5);
    assert!(
        !q.join_timeout(Duration::from_millis(1)).unwrap(),
        "taken, not done"
    );
    q.task_done().unwrap();
    assert!(q.join_timeout(Duration::ZERO).unwrap());
    assert!(q.join_timeout(Duration::MAX).unwrap());
    word.put(()).unwrap();
    assert_eq!(holder.join().unwrap(), ExitStatus::Code(0));
}

/// Joins the queue, then says so.
fn join_then_report((q, report): (JoinableQueue<u64>, Queue<String>)) {
    q.join().unwrap();
    report.put("joined".to_owned()).unwrap();
}

fn a_join_in_a_child_wakes_when_the_parent_finishes() {
    for method in METHODS {
        let q = JoinableQueue::new().unwrap();
        let report = Queue::new().unwrap();
        for n in 0..3 {
            q.put(n).unwrap();
        }
        let mut child =
            Process::new(join_then_report, (q.clone(), report.clone())).start_method(method);
        child.start().unwrap();
        for _ in 0..3 {
            q.get().unwrap();
            // The child cannot have joined yet: a task is still unfinished.
            assert!(report.empty().unwrap());
            q.task_done().unwrap();
        }
        assert_eq!(report.get().unwrap(), "joined", "{method:?}");
        assert_eq!(child.join().unwrap(), ExitStatus::Code(0));
    }
}

/// Takes two items and calls task_done three times; reports each outcome.
fn task_done_three_times((q, report): (JoinableQueue<u64>, Queue<Vec<bool>>)) {
    q.get().unwrap();
    q.get().unwrap();
    let outcomes = (0..3).map(|_| q.task_done().is_ok()).collect();
    report.put(outcomes).unwrap();
}

fn too_many_task_dones_in_a_child_are_refused() {
    for method in METHODS {
        let q = JoinableQueue::new().unwrap();
        let report = Queue::new().unwrap();
        q.put(1).unwrap();
        q.put(2).unwrap();
        let mut child =
            Process::new(task_done_three_times, (q.clone(), report.clone())).start_method(method);
        child.start().unwrap();
        assert_eq!(report.get().unwrap(), [true, true, false], "{method:?}");
        assert_eq!(child.join().unwrap(), ExitStatus::Code(0));
        q.join().unwrap();
        assert_kind(q.task_done(), too_often);
    }
}

/// Takes one item, then dies before its `task_done`.
fn take_one_then_die(q: JoinableQueue<u64>) {
    q.get().unwrap();
    // SAFETY: kill has no memory-safety preconditions; this process ends here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
}

fn join_gives_up_when_a_consumer_died_before_task_done() {
    for method in METHODS {
        let q = JoinableQueue::new().unwrap();
        q.put(1).unwrap();
        let mut child = Process::new(take_one_then_die, q.clone()).start_method(method);
        child.start().unwrap();
        assert_eq!(
            child.join().unwrap(),
            ExitStatus::Signal(libc::SIGKILL),
            "{method:?}"
        );
        // Python's join would wait forever here.
        let err = q.join().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WaitAbandoned { what } if what.contains("join")),
            "{err}"
        );
    }
}

fn a_refused_put_adds_no_task() {
    let q: JoinableQueue<u64> = JoinableQueue::new().unwrap();
    let mut n = 0;
    loop {
        match q.try_put(n) {
            Ok(()) => n += 1,
            Err(err) if matches!(err.kind(), ErrorKind::QueueFull) => break,
            Err(err) => panic!("try_put: {err}"),
        }
    }
    assert!(q.full().unwrap());
    assert_eq!(q.qsize(), n as usize);
    for i in 0..n {
        assert_eq!(q.get().unwrap(), i);
        q.task_done().unwrap();
    }
    // Had the refused put counted, one task would be left forever.
    q.join().unwrap();
    assert!(q.empty().unwrap());
    assert_kind(q.task_done(), too_often);
}

fn main() -> ExitCode {
    harness::run(tests![
        task_done_counts_against_put,
        join_waits_until_every_item_is_done_in_other_processes,
        join_waits_for_a_thread,
        join_timeout_gives_up_then_succeeds,
        a_join_in_a_child_wakes_when_the_parent_finishes,
        too_many_task_dones_in_a_child_are_refused,
        join_gives_up_when_a_consumer_died_before_task_done,
        a_refused_put_adds_no_task,
    ])
}
