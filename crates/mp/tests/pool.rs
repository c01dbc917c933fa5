//! Pool: the tutorial's calls, chunking, imap, panics, killed workers,
//! timeouts, many outstanding tasks, and ending a pool in every way.

mod harness;
mod support;

use std::process::ExitCode;
use std::time::Duration;

use mp::{ErrorKind, ExitStatus, Pool, Queue, StartMethod};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

const SQUARES: [u64; 10] = [0, 1, 4, 9, 16, 25, 36, 49, 64, 81];

fn job(x: u64) -> u64 {
    x * x
}

fn own_pid((): ()) -> u32 {
    std::process::id()
}

fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn fails_on_three(x: u64) -> u64 {
    if x == 3 {
        panic!("item {x} is bad");
    }
    x
}

fn kill_own_process((): ()) -> u64 {
    // SAFETY: kill has no memory-safety preconditions; this worker ends here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    unreachable!("SIGKILL cannot be caught")
}

fn exit_with(code: i32) -> u64 {
    std::process::exit(code)
}

fn echo(bytes: Vec<u8>) -> Vec<u8> {
    bytes
}

fn put_four(queue: Queue<u64>) {
    queue.put(4).unwrap();
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn the_tutorials_three_calls() {
    for method in METHODS {
        let pool = Pool::with_start_method(3, method).unwrap();
        assert_eq!(pool.map(job, 0..10).unwrap(), SQUARES, "{method:?}");
        assert_eq!(pool.apply_async(job, 2).unwrap().get().unwrap(), 4);
        let handles: Vec<_> = (0..10).map(|i| pool.apply_async(job, i).unwrap()).collect();
        let results: Vec<u64> = handles.into_iter().map(|h| h.get().unwrap()).collect();
        assert_eq!(results, SQUARES);
    }
}

fn every_chunk_size_keeps_the_order() {
    let pool = Pool::new(2).unwrap();
    let items: Vec<u64> = (0..100).collect();
    let expected: Vec<u64> = items.iter().map(|&x| x * x).collect();
    for chunksize in [1, 3, 7, 100, 1000] {
        assert_eq!(
            pool.map_chunked(job, items.clone(), chunksize).unwrap(),
            expected,
            "chunksize {chunksize}"
        );
    }
    assert_eq!(pool.map(job, items).unwrap(), expected);
    let err = pool.map_chunked(job, 0..10, 0).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
}

fn empty_input_gives_empty_output() {
    let pool = Pool::new(2).unwrap();
    assert_eq!(pool.map(job, Vec::new()).unwrap(), Vec::<u64>::new());
    assert_eq!(pool.map_chunked(job, 0..0, 5).unwrap(), Vec::<u64>::new());
    assert_eq!(pool.imap(job, 0..0).unwrap().count(), 0);
    assert_eq!(pool.imap_unordered(job, 0..0).unwrap().count(), 0);
}

fn imap_keeps_order_and_imap_unordered_loses_nothing() {
    for method in METHODS {
        let pool = Pool::with_start_method(2, method).unwrap();
        let ordered: Vec<u64> = pool.imap(job, 0..10).unwrap().map(Result::unwrap).collect();
        assert_eq!(ordered, SQUARES, "{method:?}");
        let chunked: Vec<u64> = pool
            .imap_chunked(job, 0..10, 3)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(chunked, SQUARES);
        for chunksize in [1, 4] {
            let mut unordered: Vec<u64> = pool
                .imap_unordered_chunked(job, 0..10, chunksize)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            unordered.sort_unstable();
            assert_eq!(unordered, SQUARES, "chunksize {chunksize}");
        }
        let iter = pool.imap(job, 0..10).unwrap();
        assert_eq!(iter.size_hint(), (10, Some(10)));
    }
}

fn a_panicking_task_reports_its_message_and_the_pool_goes_on() {
    for method in METHODS {
        // One worker: the panic must not cost us that worker.
        let pool = Pool::with_start_method(1, method).unwrap();
        let worker = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
        let err = pool
            .apply_async(fails_on_three, 3)
            .unwrap()
            .get()
            .unwrap_err();
        match err.kind() {
            ErrorKind::TaskPanicked { pid, message } => {
                assert_eq!(message, "item 3 is bad", "{method:?}");
                assert_eq!(*pid, worker);
            }
            other => panic!("expected TaskPanicked, got {other:?}"),
        }
        assert!(err.to_string().contains("item 3 is bad"), "{err}");
        // The same worker goes on.
        assert_eq!(
            pool.apply_async(own_pid, ()).unwrap().get().unwrap(),
            worker
        );
        assert_eq!(pool.apply_async(job, 5).unwrap().get().unwrap(), 25);

        // In a map, the failing item's error is the answer...
        let err = pool.map_chunked(fails_on_three, 0..10, 4).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::TaskPanicked { .. }),
            "{err}"
        );
        // ...and in imap only that item fails, even inside a chunk.
        let results: Vec<_> = pool
            .imap_chunked(fails_on_three, 0..6, 4)
            .unwrap()
            .collect();
        assert_eq!(results.len(), 6);
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(x) => assert_eq!(x, i as u64),
                Err(err) => {
                    assert_eq!(i, 3);
                    assert!(err.to_string().contains("item 3 is bad"), "{err}");
                }
            }
        }
    }
}

fn a_killed_worker_fails_its_task_only_and_is_replaced() {
    for method in METHODS {
        // One worker: we know which pid runs the fatal task.
        let pool = Pool::with_start_method(1, method).unwrap();
        let victim = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
        let err = pool
            .apply_async(kill_own_process, ())
            .unwrap()
            .get()
            .unwrap_err();
        match err.kind() {
            ErrorKind::WorkerDied { pid, status } => {
                assert_eq!(*pid, victim, "{method:?}");
                assert_eq!(*status, ExitStatus::Signal(libc::SIGKILL));
            }
            other => panic!("expected WorkerDied, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains(&victim.to_string()), "{message}");
        assert!(message.contains("SIGKILL"), "{message}");
        // A replacement runs the next tasks.
        let replacement = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
        assert_ne!(replacement, victim);
        assert_eq!(pool.map(job, 0..10).unwrap(), SQUARES);
    }
}

/// A worker is handed its next task before it ends the current one (it waits
/// in the worker's pipe). If the worker dies in the current one, the next one
/// never started: it runs on the replacement, neither lost nor failed.
fn a_task_waiting_for_a_worker_that_dies_runs_on_its_replacement() {
    for method in METHODS {
        let pool = Pool::with_start_method(1, method).unwrap();
        let victim = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
        let fatal = pool.apply_async(kill_own_process, ()).unwrap();
        let waiting = pool.apply_async(own_pid, ()).unwrap();
        let err = fatal.get().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WorkerDied { pid, .. } if *pid == victim),
            "{method:?}: {err}"
        );
        let ran_in = waiting.get().unwrap();
        assert_ne!(ran_in, victim, "{method:?}");
        pool.join().unwrap();
    }
}

fn every_other_task_completes_when_a_worker_dies() {
    for method in METHODS {
        let pool = Pool::with_start_method(2, method).unwrap();
        let before: Vec<_> = (0..10).map(|i| pool.apply_async(job, i).unwrap()).collect();
        let fatal = pool.apply_async(kill_own_process, ()).unwrap();
        let exits = pool.apply_async(exit_with, 3).unwrap();
        let after: Vec<_> = (0..10).map(|i| pool.apply_async(job, i).unwrap()).collect();
        support::assert_worker_killed(fatal.get(), &format!("{method:?}"));
        let err = exits.get().unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::WorkerDied {
                    status: ExitStatus::Code(3),
                    ..
                }
            ),
            "{err}"
        );
        for handles in [before, after] {
            let results: Vec<u64> = handles.into_iter().map(|h| h.get().unwrap()).collect();
            assert_eq!(results, SQUARES);
        }
    }
}

fn a_worker_killed_while_idle_is_replaced() {
    for method in METHODS {
        let pool = Pool::with_start_method(1, method).unwrap();
        let victim = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
        // SAFETY: kill has no memory-safety preconditions; `victim` is our
        // pool's idle worker, not yet reaped, so the pid is still its own.
        let killed = unsafe { libc::kill(victim as libc::pid_t, libc::SIGKILL) };
        assert_eq!(killed, 0);
        support::wait_until_dead(victim);
        // The next task finds the dead worker's pipe closed, and waits for
        // the replacement instead of failing.
        assert_eq!(
            pool.apply_async(job, 3).unwrap().get().unwrap(),
            9,
            "{method:?}"
        );
        assert_ne!(
            pool.apply_async(own_pid, ()).unwrap().get().unwrap(),
            victim
        );
    }
}

fn get_timeout_gives_up_then_succeeds() {
    let pool = Pool::new(1).unwrap();
    let slow = pool.apply_async(sleep_ms, 300).unwrap();
    let err = slow.get_timeout(Duration::from_millis(10)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(slow.get_timeout(Duration::from_secs(30)).unwrap(), 300);
    // A result that is in can be asked for again.
    assert_eq!(slow.get_timeout(Duration::ZERO).unwrap(), 300);
}

fn large_arguments_and_results_cross_whole() {
    for method in METHODS {
        let pool = Pool::with_start_method(2, method).unwrap();
        // Four times a pipe's 64 KiB: both ways, a frame takes several writes.
        let big: Vec<u8> = (0..(256 << 10)).map(|i| (i % 251) as u8).collect();
        let handles: Vec<_> = (0..3)
            .map(|_| pool.apply_async(echo, big.clone()).unwrap())
            .collect();
        for handle in handles {
            assert!(handle.get().unwrap() == big, "{method:?}");
        }
    }
}

/// A worker runs a task whose result is bigger than its result channel
/// holds, so it waits for the parent to read; the next task's input is
/// bigger than the worker's task pipe holds. Handing that task over while
/// the worker is busy would make the parent wait for the worker and the
/// worker for the parent: both tasks must come back.
fn a_big_task_behind_a_big_result_does_not_deadlock() {
    // Only turns a hang into a failure; never reached by correct code.
    const HANG: Duration = Duration::from_secs(30);
    // Past a pipe's 1 MiB and a socket's send buffer (208 KiB by default).
    let big: Vec<u8> = (0..(8 << 20)).map(|i| (i % 251) as u8).collect();
    for method in METHODS {
        let pool = Pool::with_start_method(1, method).unwrap();
        let worker = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let both = std::thread::scope(|scope| {
            scope.spawn(|| {
                let first = pool.apply_async(echo, big.clone()).unwrap();
                let second = pool.apply_async(echo, big.clone()).unwrap();
                let _ = done_tx.send((first.get(), second.get()));
            });
            let both = done_rx.recv_timeout(HANG);
            if both.is_err() {
                // Stuck: the worker's death lets the parent's write go.
                // SAFETY: kill has no memory-safety preconditions; `worker`
                // is the pool's child, not reaped while the pool waits on it.
                unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
                pool.terminate();
            }
            both
        });
        let (first, second) = both.expect("the pool deadlocked on the second task");
        assert!(
            first.unwrap() == big && second.unwrap() == big,
            "{method:?}"
        );
    }
}

/// Result lengths on both sides of the size at which a worker sends a byte
/// or float vector raw, alone in its frame, instead of gathered with others.
const LENGTHS: [usize; 8] = [
    0,
    1,
    (64 << 10) - 1,
    64 << 10,
    (1 << 20) + 3,
    5,
    13,
    200_000,
];

fn bytes_of_len(len: usize) -> Vec<u8> {
    if len == 13 {
        panic!("item of length {len} is bad");
    }
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn floats_of_len(len: usize) -> Vec<f64> {
    (0..len / 8).map(|i| i as f64 * 0.5).collect()
}

/// Big results go raw and small ones gathered, in one chunk: they come back
/// whole and in order, and a panicking item fails alone.
fn big_and_small_results_of_one_chunk_come_back_in_order() {
    for method in METHODS {
        let pool = Pool::with_start_method(2, method).unwrap();
        let items = LENGTHS.iter().copied().filter(|&len| len != 13);
        let got = pool
            .map_chunked(bytes_of_len, items.clone(), LENGTHS.len())
            .unwrap();
        assert!(
            got == items.clone().map(bytes_of_len).collect::<Vec<_>>(),
            "{method:?}"
        );
        let got = pool
            .map_chunked(floats_of_len, LENGTHS, LENGTHS.len())
            .unwrap();
        assert!(got == LENGTHS.map(floats_of_len), "{method:?}");

        let results: Vec<_> = pool
            .imap_chunked(bytes_of_len, LENGTHS, 3)
            .unwrap()
            .collect();
        for (len, result) in LENGTHS.into_iter().zip(results) {
            match result {
                Ok(bytes) => assert!(bytes == bytes_of_len(len), "{method:?}: {len}"),
                Err(err) => {
                    assert_eq!(len, 13, "{method:?}: {err}");
                    assert!(err.to_string().contains("length 13 is bad"), "{err}");
                }
            }
        }
    }
}

/// A result asked for again, or checked with `successful` first, is still
/// all there.
fn a_big_result_can_be_read_more_than_once() {
    let pool = Pool::new(1).unwrap();
    let handle = pool.apply_async(bytes_of_len, 1 << 20).unwrap();
    let first = handle.get_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(handle.successful(), Some(true));
    assert!(handle.get_timeout(Duration::ZERO).unwrap() == first);
    assert!(handle.get().unwrap() == first);
    assert!(first == bytes_of_len(1 << 20));
}

fn big_result_then_die(n: u64) -> Vec<u8> {
    if n == 2 {
        // SAFETY: kill has no memory-safety preconditions; this worker ends here.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
    vec![n as u8; 1 << 20]
}

/// A worker that dies after sending part of its chunk's results fails the
/// whole chunk; what it sent is not taken for the answer.
fn a_worker_dying_halfway_through_a_chunk_fails_the_whole_chunk() {
    for method in METHODS {
        let pool = Pool::with_start_method(1, method).unwrap();
        let chunk = pool.map_chunked(big_result_then_die, 0..4, 4);
        support::assert_worker_killed(chunk, &format!("{method:?}"));
        let results: Vec<_> = pool.imap(big_result_then_die, 0..4).unwrap().collect();
        assert!(results[2].is_err(), "{method:?}");
        for n in [0, 1, 3] {
            assert!(results[n].as_ref().unwrap() == &vec![n as u8; 1 << 20]);
        }
    }
}

fn many_outstanding_tasks_use_no_more_files() {
    let pool = Pool::new(4).unwrap();
    let fds = open_fds();
    let handles: Vec<_> = (0..100_000u64)
        .map(|i| pool.apply_async(job, i % 1000).unwrap())
        .collect();
    assert_eq!(open_fds(), fds, "open files grew with outstanding tasks");
    for (i, handle) in handles.into_iter().enumerate() {
        let i = (i % 1000) as u64;
        assert_eq!(handle.get().unwrap(), i * i);
    }
    assert_eq!(open_fds(), fds);
}

fn several_threads_can_wait_at_once() {
    let pool = Pool::new(2).unwrap();
    std::thread::scope(|s| {
        let waiters: Vec<_> = (0..4u64)
            .map(|t| {
                let pool = &pool;
                s.spawn(move || {
                    let handles: Vec<_> = (0..50)
                        .map(|i| pool.apply_async(job, t * 100 + i).unwrap())
                        .collect();
                    let squares: Vec<u64> = handles.into_iter().map(|h| h.get().unwrap()).collect();
                    let mapped = pool.map(job, (0..50).map(|i| t * 100 + i)).unwrap();
                    assert_eq!(squares, mapped);
                })
            })
            .collect();
        for waiter in waiters {
            waiter.join().unwrap();
        }
    });
}

fn zero_processes_is_an_error() {
    let err = Pool::new(0).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("at least one worker"), "{err}");
}

fn close_then_join_finishes_the_work() {
    for method in METHODS {
        let pool = Pool::with_start_method(2, method).unwrap();
        let handles: Vec<_> = (0..10).map(|i| pool.apply_async(job, i).unwrap()).collect();
        pool.close();
        let err = pool.apply_async(job, 1).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::PoolClosed), "{err}");
        assert!(matches!(
            pool.map(job, 0..3).unwrap_err().kind(),
            ErrorKind::PoolClosed
        ));
        pool.join().unwrap();
        // The workers are gone; their results are kept.
        let results: Vec<u64> = handles.into_iter().map(|h| h.get().unwrap()).collect();
        assert_eq!(results, SQUARES, "{method:?}");
        pool.join().unwrap(); // joining again is harmless
    }
}

fn terminate_and_drop_stop_running_tasks() {
    for method in METHODS {
        let pool = Pool::with_start_method(2, method).unwrap();
        let running = pool.apply_async(sleep_ms, 60_000).unwrap();
        let queued: Vec<_> = (0..5)
            .map(|_| pool.apply_async(sleep_ms, 60_000).unwrap())
            .collect();
        pool.terminate();
        assert!(matches!(
            running.get().unwrap_err().kind(),
            ErrorKind::PoolClosed
        ));
        for handle in queued {
            assert!(matches!(
                handle.get().unwrap_err().kind(),
                ErrorKind::PoolClosed
            ));
        }
        assert!(matches!(
            pool.apply_async(job, 1).unwrap_err().kind(),
            ErrorKind::PoolClosed
        ));

        // Dropping a pool with work in flight kills and reaps its workers
        // (the harness checks that no child and no descriptor is left).
        let pool = Pool::with_start_method(2, method).unwrap();
        let orphan = pool.apply_async(sleep_ms, 60_000).unwrap();
        drop(pool);
        assert!(matches!(
            orphan.get().unwrap_err().kind(),
            ErrorKind::PoolClosed
        ));
    }
}

fn a_shared_object_cannot_travel_in_a_task() {
    let pool = Pool::new(1).unwrap();
    let queue = Queue::new().unwrap();
    // A Queue crosses only in a process's start arguments, as in Python.
    let err = pool.apply_async(put_four, queue).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::NotInStartArguments { .. }),
        "{err}"
    );
    assert_eq!(pool.apply_async(job, 4).unwrap().get().unwrap(), 16);
}

fn pool_and_handles_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pool>();
    assert_send_sync::<mp::AsyncResult<std::rc::Rc<u8>>>();
}

/// How many times a wait looked at the tasks' result slots while `run` went.
fn slot_looks_during(run: impl FnOnce()) -> u64 {
    let before = mp::pool::slot_looks();
    run();
    mp::pool::slot_looks() - before
}

/// Each wait over many tasks (an `imap`, an `imap_unordered`, a `map_async`) looks at a task's
/// result slot a bounded number of times per task, whatever the number of tasks: counted, not
/// timed. `imap_unordered` used to look at every chunk still out after each answer, which grows
/// with the square of the tasks (3,000 tasks: hundreds of thousands of looks).
fn a_wait_over_many_tasks_looks_at_each_a_bounded_number_of_times() {
    const TASKS: u64 = 3_000;
    // A look per task, and one per turn of the engine (at most one per answer), and some room.
    const MOST: u64 = 4 * TASKS;
    let pool = Pool::new(2).unwrap();
    let looks = slot_looks_during(|| {
        let done = pool.imap_unordered(job, 0..TASKS).unwrap();
        assert_eq!(
            done.map(Result::unwrap).sum::<u64>(),
            (0..TASKS).map(job).sum()
        );
    });
    assert!(
        looks <= MOST,
        "imap_unordered of {TASKS} tasks looked {looks} times"
    );
    let looks = slot_looks_during(|| {
        let done: Vec<u64> = pool
            .imap(job, 0..TASKS)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(done, (0..TASKS).map(job).collect::<Vec<_>>());
    });
    assert!(looks <= MOST, "imap of {TASKS} tasks looked {looks} times");
    let looks = slot_looks_during(|| {
        let all = pool
            .map_async_chunked(job, 0..TASKS, 1)
            .unwrap()
            .get()
            .unwrap();
        assert_eq!(all.len() as u64, TASKS);
    });
    assert!(
        looks <= MOST,
        "map_async of {TASKS} one-item chunks looked {looks} times"
    );
}

fn main() -> ExitCode {
    harness::run(tests![
        the_tutorials_three_calls,
        every_chunk_size_keeps_the_order,
        empty_input_gives_empty_output,
        imap_keeps_order_and_imap_unordered_loses_nothing,
        a_panicking_task_reports_its_message_and_the_pool_goes_on,
        a_killed_worker_fails_its_task_only_and_is_replaced,
        a_task_waiting_for_a_worker_that_dies_runs_on_its_replacement,
        every_other_task_completes_when_a_worker_dies,
        a_worker_killed_while_idle_is_replaced,
        get_timeout_gives_up_then_succeeds,
        large_arguments_and_results_cross_whole,
        a_big_task_behind_a_big_result_does_not_deadlock,
        big_and_small_results_of_one_chunk_come_back_in_order,
        a_big_result_can_be_read_more_than_once,
        a_worker_dying_halfway_through_a_chunk_fails_the_whole_chunk,
        many_outstanding_tasks_use_no_more_files,
        several_threads_can_wait_at_once,
        zero_processes_is_an_error,
        close_then_join_finishes_the_work,
        terminate_and_drop_stop_running_tasks,
        a_shared_object_cannot_travel_in_a_task,
        pool_and_handles_move_between_threads,
        a_wait_over_many_tasks_looks_at_each_a_bounded_number_of_times,
    ])
}
