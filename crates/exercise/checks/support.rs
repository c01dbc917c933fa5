//! What every check shares: say what was checked, fail with a message, and give up on a call
//! that does not return. A check exits 0 when the exercise is solved, 1 when it is wrong, and 3
//! when it saw a call hang (the checker reports that as a hang).

use std::fmt::Debug;
use std::io::Write as _;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long a check waits for a call that a solution finishes in milliseconds.
pub const HANG_AFTER: Duration = Duration::from_secs(2);

/// Prints a line at once: if the next call hangs, the learner sees how far the check got.
pub fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

/// Ends the check: the exercise is not solved yet.
pub fn fail(why: &str) -> ! {
    say(&format!("wrong: {why}"));
    std::process::exit(1)
}

/// Checks that `what` gave `want`.
pub fn expect_eq<T: PartialEq + Debug>(what: &str, got: T, want: T) {
    if got != want {
        fail(&format!("{what} gave {got:?}, expected {want:?}"));
    }
    say(&format!("ok: {what} = {got:?}"));
}

/// Checks a condition, with what it means.
pub fn expect(what: &str, holds: bool) {
    if !holds {
        fail(what);
    }
    say(&format!("ok: {what}"));
}

/// Runs `call` on a thread of its own and waits at most `HANG_AFTER` for it; if it has not
/// returned by then, says which call hung and exits with code 3 (which ends its threads too).
/// A panic in `call` is passed on.
pub fn within<T: Send + 'static>(what: &str, call: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
        let _ = done.send(outcome);
    });
    match result.recv_timeout(HANG_AFTER) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => {
            say(&format!(
                "hangs: {what} has not returned after {} s; nothing is left that could wake it",
                HANG_AFTER.as_secs()
            ));
            std::process::exit(3)
        }
    }
}

/// Page faults of every child process reaped so far, from `getrusage(RUSAGE_CHILDREN)`. A
/// forked child always faults at least once (its first write copies a page), so when this
/// grows across a call, the call started, and waited for, at least one process.
pub fn children_faults() -> i64 {
    // SAFETY: getrusage writes one rusage struct, which lives across the call.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    usage.ru_minflt + usage.ru_majflt
}
