//! Every exercise, in teaching order: its kind, the note it practises, its hint, its time limit,
//! and how it fails as shipped (which the tests check, so an exercise never silently starts to
//! pass untouched).

use std::time::Duration;

/// The three kinds of exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// It does not compile; the compiler's message is the lesson.
    CompilerTeaches,
    /// It compiles, but hangs, loses data or gives the wrong answer.
    FixTheBug,
    /// A Python program to port: the file gives it, and a skeleton.
    WriteIt,
}

impl Kind {
    /// The words the exercise file uses for its kind, on its `//! Kind:` line.
    pub fn words(self) -> &'static str {
        match self {
            Kind::CompilerTeaches => "the compiler teaches",
            Kind::FixTheBug => "fix the bug",
            Kind::WriteIt => "write it",
        }
    }
}

/// How an exercise fails as shipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shipped {
    /// rustc rejects it with this error code.
    DoesNotCompile(&'static str),
    /// It runs past its time limit (or its check sees a call that does not return).
    Hangs,
    /// It runs to its end, and the check finds it wrong (or it panics).
    Wrong,
}

/// One exercise: `exercises/<stem>.rs`, `solutions/<stem>.rs`, `crates/exercise/checks/<stem>.rs`.
#[derive(Debug)]
pub struct Exercise {
    /// `03_lock_twice`: the lesson's number, then the topic.
    pub stem: &'static str,
    /// Which of the three kinds it is.
    pub kind: Kind,
    /// The lesson's note, from the repository's root.
    pub note: &'static str,
    /// Points at the idea, never at the answer.
    pub hint: &'static str,
    /// How it fails as shipped.
    pub shipped: Shipped,
    /// How long the check may run before it counts as hung.
    pub limit: Duration,
}

/// The limit of a check that should end in well under a second.
const USUAL: Duration = Duration::from_secs(15);
/// The limit of an exercise whose bug is a hang: short, so that a hang is reported quickly.
/// Its check also watches the call that hangs and gives up after `support::HANG_AFTER`
/// (2 s), saying which call; a solution ends in milliseconds.
const HANG: Duration = Duration::from_secs(3);

macro_rules! exercise {
    ($stem:literal, $kind:ident, $note:literal, $shipped:expr, $limit:expr, $hint:literal) => {
        Exercise {
            stem: $stem,
            kind: Kind::$kind,
            note: concat!("notes/", $note, ".md"),
            hint: $hint,
            shipped: $shipped,
            limit: $limit,
        }
    };
}

use Shipped::{DoesNotCompile, Hangs, Wrong};

/// All of them, in the order of their names (and so of the lessons).
pub const EXERCISES: &[Exercise] = &[
    exercise!(
        "01_move_into_thread",
        CompilerTeaches,
        "01_thread",
        DoesNotCompile("E0373"),
        USUAL,
        "A new thread may outlive the function that started it, so it cannot borrow that \
         function's variables. Read the compiler's note about the closure, and how \
         notes/01_thread.md hands the thread its work."
    ),
    exercise!(
        "02_missing_join",
        FixTheBug,
        "02_join",
        Wrong,
        USUAL,
        "A thread you do not join is one you never hear from again: not its result, not its \
         panic. notes/02_join.md: what does `join` wait for, and what does it give back?"
    ),
    exercise!(
        "03_counter_without_lock",
        CompilerTeaches,
        "03_lock",
        DoesNotCompile("E0499"),
        USUAL,
        "Two threads may not both hold a `&mut` to one number. notes/03_lock.md: where does \
         the number live in Rust, so that each thread must lock before it can reach it?"
    ),
    exercise!(
        "03_lock_twice",
        FixTheBug,
        "03_lock",
        Hangs,
        HANG,
        "std's Mutex is not re-entrant: a thread that asks for a lock it already holds waits \
         for itself. notes/03_lock.md: the guard is the lock. Where is each guard dropped?"
    ),
    exercise!(
        "04_fn_not_closure",
        CompilerTeaches,
        "04_process",
        DoesNotCompile("E0521"),
        USUAL,
        "A child process gets a plain `fn` and its arguments, never a closure's captured \
         variables (Python's rule that a target must be picklable). notes/04_process.md: \
         how does data reach the child?"
    ),
    exercise!(
        "05_full_pipe",
        FixTheBug,
        "05_queue",
        Hangs,
        HANG,
        "A pipe holds only so many bytes; a child whose `put` does not fit waits for a reader. \
         notes/05_queue.md, \"The trap\": who is waiting for whom?"
    ),
    exercise!(
        "05_results_by_queue",
        WriteIt,
        "05_queue",
        Wrong,
        USUAL,
        "One Queue, one process per number, every child puts what it found; the parent gets \
         as many results as it started children. notes/05_queue.md walks through the same \
         shape. Results can arrive in any order."
    ),
    exercise!(
        "06_closure_in_pool",
        CompilerTeaches,
        "06_pool",
        DoesNotCompile("E0308"),
        USUAL,
        "A pool's workers are other processes: they receive a `fn` and each item, nothing \
         else. notes/06_pool.md: how would Python pass a second argument to every task?"
    ),
    exercise!(
        "06_sum_of_squares",
        WriteIt,
        "06_pool",
        Wrong,
        USUAL,
        "`Pool::new`, then `map` with a plain `fn`: notes/06_pool.md has the line-by-line \
         table. The check makes sure that worker processes did the work."
    ),
    exercise!(
        "07_copies_not_shared",
        FixTheBug,
        "07_shared_memory",
        Wrong,
        USUAL,
        "After a fork, a child writes to its own copy of everything it was given. \
         notes/07_shared_memory.md: which types live in memory both processes map?"
    ),
    exercise!(
        "07_mutex_between_processes",
        CompilerTeaches,
        "07_shared_memory",
        DoesNotCompile("E0277"),
        USUAL,
        "What a child is given is serialized and copied, like Python's pickling; an `Arc` \
         shares memory only between threads. notes/07_shared_memory.md: what does the parent \
         and the child really share?"
    ),
    exercise!(
        "08_take_the_lock",
        WriteIt,
        "08_process_lock",
        Wrong,
        USUAL,
        "notes/08_process_lock.md ports this very program: a guard from `lock()` held for the \
         whole job. Use the lock you are given: the check holds it for a while and watches."
    ),
    exercise!(
        "09_split_the_job",
        WriteIt,
        "09_comparison",
        Wrong,
        USUAL,
        "Split 0..n into `workers` ranges that cover it with no gap and no overlap, sum each \
         on its own thread, add the sums. notes/09_comparison.md shows the threads' version; \
         mind the last range when n does not divide evenly."
    ),
    exercise!(
        "10_rc_not_send",
        CompilerTeaches,
        "10_gil",
        DoesNotCompile("E0277"),
        USUAL,
        "Python lets any thread touch any object and serializes them with the GIL; Rust checks \
         at compile time which types may cross to another thread (`Send`). \
         notes/10_gil.md: which counted pointer and which cell are made for threads?"
    ),
    exercise!(
        "11_locked_counter",
        WriteIt,
        "11_race",
        Wrong,
        USUAL,
        "`v.set(v.get() + 1)` takes the lock twice, and another process can write between the \
         two: notes/11_race.md. Python's `with v.get_lock():` is one guard for the read and \
         the write."
    ),
    exercise!(
        "12_missing_init",
        FixTheBug,
        "12_start_methods",
        Wrong,
        USUAL,
        "A spawned child is this program started again, from the top of `main`. \
         notes/12_start_methods.md: what must `main` do first, so the child goes to its \
         job instead?"
    ),
    exercise!(
        "13_dead_holder",
        FixTheBug,
        "13_crash",
        Wrong,
        USUAL,
        "When the process holding a lock dies, the next `lock()` still gets the lock, inside \
         an `Err` that says so, and the data may be half-updated. notes/13_crash.md: what does \
         the next holder do with that news?"
    ),
    exercise!(
        "13_failed_tasks",
        WriteIt,
        "13_crash",
        Wrong,
        USUAL,
        "A task that panics in a pool worker comes back from `get` as an `Err`, and the pool \
         goes on: notes/13_crash.md. Python's `except` is a `match` (or `.ok()`) here."
    ),
    exercise!(
        "14_borrow_in_scope",
        CompilerTeaches,
        "14_big_data",
        DoesNotCompile("E0521"),
        USUAL,
        "`thread::spawn` wants data that lives forever; a slice borrowed from the caller does \
         not. notes/14_big_data.md: which kind of thread may borrow, because it is sure to \
         end before the borrow does?"
    ),
    exercise!(
        "15_producer_consumer",
        WriteIt,
        "15_pipes_and_channels",
        Wrong,
        USUAL,
        "`std::sync::mpsc`: one thread sends, another receives; Python's `None` at the end \
         becomes dropping the sender. notes/15_pipes_and_channels.md shows both halves."
    ),
    exercise!(
        "15_sender_still_alive",
        FixTheBug,
        "15_pipes_and_channels",
        Hangs,
        HANG,
        "A receiver's loop ends when every sender is gone, and not before: \
         notes/15_pipes_and_channels.md. Count the senders: who still holds one?"
    ),
    exercise!(
        "16_barrier_forever",
        FixTheBug,
        "16_events_and_barriers",
        Hangs,
        HANG,
        "A barrier opens when its count of parties have arrived, and not before: \
         notes/16_events_and_barriers.md. Count every thread that calls `wait`."
    ),
    exercise!(
        "16_share_a_barrier",
        CompilerTeaches,
        "16_events_and_barriers",
        DoesNotCompile("E0382"),
        USUAL,
        "std's `Barrier` is not `Clone`: there is one barrier, and each thread needs a way to \
         reach it. notes/16_events_and_barriers.md: scoped threads borrow; `thread::spawn` \
         needs shared ownership."
    ),
    exercise!(
        "17_as_completed",
        WriteIt,
        "17_executors",
        Wrong,
        USUAL,
        "`as_completed` is `Pool::imap_unordered`: results in the order they finish. \
         notes/17_executors.md has the table from concurrent.futures to mp."
    ),
    exercise!(
        "17_scope_move",
        CompilerTeaches,
        "17_executors",
        DoesNotCompile("E0373"),
        USUAL,
        "A scoped thread may borrow what outlives the scope, but the loop variable dies at \
         the end of each turn. notes/17_executors.md: how does each `submit` get its own copy?"
    ),
    exercise!(
        "18_parts_per_rank",
        FixTheBug,
        "18_beyond_one_machine",
        Wrong,
        USUAL,
        "No rank hands out the work: each works its part out from its rank alone. When n does \
         not divide by the number of ranks, where do the numbers left over go? \
         notes/18_beyond_one_machine.md: how the lesson's ranks split 0..n."
    ),
];

/// The exercise named `name`: a full stem, a path such as `exercises/03_lock_twice.rs`, or a
/// prefix that names one exercise only (`03_lock_t`). `Err` says why not, for the learner.
pub fn find(name: &str) -> Result<&'static Exercise, String> {
    let name = name.trim_start_matches("./");
    let name = name.strip_prefix("exercises/").unwrap_or(name);
    let name = name.strip_suffix(".rs").unwrap_or(name);
    if let Some(exercise) = EXERCISES.iter().find(|e| e.stem == name) {
        return Ok(exercise);
    }
    let matching: Vec<&str> = EXERCISES
        .iter()
        .map(|e| e.stem)
        .filter(|stem| !name.is_empty() && stem.starts_with(name))
        .collect();
    match matching.as_slice() {
        [stem] => Ok(EXERCISES.iter().find(|e| e.stem == *stem).expect("listed")),
        [] => Err(format!(
            "there is no exercise named `{name}`; run `cargo exercise` to list them"
        )),
        several => Err(format!(
            "`{name}` could be any of {}: give the whole name",
            several.join(", ")
        )),
    }
}
