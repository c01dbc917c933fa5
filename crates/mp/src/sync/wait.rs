//! How the primitives of this module sleep, and when they stop sleeping.
//!
//! # Sleeping on a word of shared memory
//!
//! Every waiter here sleeps on a 32-bit word in shared memory with a *futex*
//! (Linux's "fast user-space mutex" system call): `FUTEX_WAIT` sleeps only if
//! the word still holds the value the waiter last saw, and `FUTEX_WAKE` wakes
//! sleepers on that word. The check and the sleep are one step in the
//! kernel, so a wake-up that comes between "I looked" and "I sleep" is never
//! lost. `std::sync` uses futexes too, but *private* ones
//! (`FUTEX_PRIVATE_FLAG`), which the kernel keys by address inside one
//! process; these are shared ones, keyed by the page of the file both
//! processes map, so a process can wake a waiter in another.
//!
//! Why not a process-shared `pthread_cond_t`? A condition variable keeps
//! its own bookkeeping of waiters in the shared memory; a waiter killed in
//! the middle of it leaves that bookkeeping wrong, and nothing repairs it (the
//! robust-mutex machinery covers mutexes only). A futex word has no
//! bookkeeping: a dead sleeper simply stops sleeping.
//!
//! Sleeping and being woken cost far more than the change they wait for,
//! when another CPU makes it: so where there is one, a waiter first looks
//! at the word a while before it sleeps ([`look_a_while`]).
//!
//! On Unix systems other than Linux there is no futex: a waiter there checks
//! the word every millisecond instead, which works, slowly.
//!
//! # Never waiting forever
//!
//! A wait *without* a timeout, where Python would sleep forever, sleeps in
//! slices of 50 ms. After a slice in which nothing happened, it asks whether
//! anybody is left who could wake it (see [`nobody_left`], the one rule every
//! primitive of the crate uses); if not, it looks one last time and gives up
//! with an `…Abandoned` error.
//!
//! A wait *with* a timeout cannot hang, so it never gives up early: it runs
//! to its timeout and then says so the way Python does (`false`, `None`, an
//! empty queue). A timeout too long for the clock to add (`Duration::MAX`)
//! counts as no timeout.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::process;
use crate::sys;

/// How long a waiter sleeps before it checks whether anybody is left.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// How long [`look_a_while`] looks before its caller goes to sleep: about
/// what waking a sleeper on another CPU costs here, so that a look can
/// outlast the other side's own wake-up.
const LOOK_FOR: Duration = Duration::from_micros(20);

/// Where another CPU can bring the answer, looks whether `ready` holds,
/// again and again for up to [`LOOK_FOR`]; whether it did. A waiter whose
/// answer usually comes within microseconds (a round trip to a process that
/// is working on it) calls this before it sleeps in the kernel, and sleeps
/// only if it did not.
///
/// Waking a sleeper is dear when the answer comes from another CPU: the
/// sleeper's CPU has gone idle, and waking it takes far longer than the
/// answer did (about 13 µs a hop on this project's virtual machines). With
/// one CPU only, looking would only keep the other side from running, so
/// this returns `false` at once.
///
/// It never yields the CPU. Behind a program that never sleeps, a yield
/// waits for that program to be switched out, each time, where a sleeper is
/// woken at once: a pool round trip between two processes sharing one CPU
/// with `yes > /dev/null` took 1.4 ms with sixteen yields a wait, against
/// 14 µs for one that slept. And it learns when looking is in vain (see
/// [`Looker`]).
pub(crate) fn look_a_while(ready: impl FnMut() -> bool) -> bool {
    static LOOKER: Looker = Looker::new();
    other_cpus() && LOOKER.look(LOOK_FOR, ready)
}

/// How a process learns whether looking pays. A look in vain is time the
/// other side could have run in, when it shares this CPU: with both ends of
/// a pool round trip on the one CPU a busy program left free, each hop
/// waited out the whole look. So, as glibc's adaptive mutex does with its
/// spins, after a look in vain the process skips the next one, after two in
/// a row the next three, after three the next seven, and so on up to 255;
/// a look that finds its answer makes it look every time again.
struct Looker {
    /// Looks in vain in a row, at most [`Looker::MOST_MISSES`].
    misses: AtomicU32,
    /// Waits still to go without looking.
    skips: AtomicU32,
}

impl Looker {
    const MOST_MISSES: u32 = 8;

    const fn new() -> Looker {
        Looker {
            misses: AtomicU32::new(0),
            skips: AtomicU32::new(0),
        }
    }

    /// Looks whether `ready` holds, again and again for up to `time`,
    /// unless this wait is one to skip; whether it did.
    fn look(&self, time: Duration, mut ready: impl FnMut() -> bool) -> bool {
        // Other threads may count at the same time: a skip more or less
        // does not matter.
        let skips = self.skips.load(Ordering::Relaxed);
        if skips > 0 {
            self.skips.store(skips - 1, Ordering::Relaxed);
            return false;
        }
        let start = Instant::now();
        loop {
            if ready() {
                self.misses.store(0, Ordering::Relaxed);
                return true;
            }
            if start.elapsed() >= time {
                let misses = (self.misses.load(Ordering::Relaxed) + 1).min(Self::MOST_MISSES);
                self.misses.store(misses, Ordering::Relaxed);
                self.skips.store((1 << misses) - 1, Ordering::Relaxed);
                return false;
            }
            std::hint::spin_loop();
        }
    }
}

/// Whether this process may run on more than one CPU (its affinity, and
/// its cgroup's share, as `std::thread::available_parallelism` reads them),
/// looked up once and remembered.
fn other_cpus() -> bool {
    // 0: not looked up yet; 1: one CPU; 2: more.
    static CPUS: AtomicU32 = AtomicU32::new(0);
    match CPUS.load(Ordering::Relaxed) {
        0 => {
            let more = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
            CPUS.store(if more { 2 } else { 1 }, Ordering::Relaxed);
            more
        }
        cpus => cpus > 1,
    }
}

/// Sleeps while `word` holds `expected`, for at most `timeout`. May return
/// early: when woken, when the word changed, or for no reason (a signal).
#[cfg(target_os = "linux")]
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as _,
    };
    // SAFETY: FUTEX_WAIT reads the aligned 32-bit word at `word.as_ptr()`,
    // which `&AtomicU32` keeps valid for the whole call, and `timeout`, a
    // local. Without FUTEX_PRIVATE_FLAG the kernel keys the wait by the page
    // of the mapped file, so waiters in other processes that map it share it.
    // Its result (woken, timed out, EAGAIN because the word changed, EINTR)
    // needs no handling: every caller looks at the word again.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &raw const timeout,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes up to `count` sleepers on `word` (`i32::MAX`: all of them).
#[cfg(target_os = "linux")]
pub(crate) fn futex_wake(word: &AtomicU32, count: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key (the page of the
    // mapped file and the offset in it) to find sleepers; `word` is valid.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count);
    }
}

/// Without futexes: checks back after a millisecond at most.
#[cfg(not(target_os = "linux"))]
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    if word.load(Ordering::Acquire) == expected {
        std::thread::sleep(timeout.min(Duration::from_millis(1)));
    }
}

/// Without futexes, sleepers check back by themselves.
#[cfg(not(target_os = "linux"))]
pub(crate) fn futex_wake(_word: &AtomicU32, _count: i32) {}

/// Whether nobody is left who could wake a waiter of this process: the
/// crate's one rule for who counts as a possible waker, used by every
/// primitive (locks excepted: a lock's holder is known), by `Queue` and by
/// `Connection`. A possible waker is
///
/// - another thread of this process;
/// - a child process this process started with the crate (a [`Process`] or
///   a pool's worker, fork or spawn) that has not ended;
/// - in such a child, its parent, while it lives.
///
/// Processes that are neither this one's children nor its parent (a
/// grandchild, a sibling) are not counted: if they are the only ones left who
/// could wake a waiter, it gives up all the same. Where the platform cannot
/// count threads, another thread is assumed to exist, and only a timeout ends
/// a wait. Only a wait without a timeout asks (see the module's docs).
///
/// [`Process`]: crate::Process
pub(crate) fn nobody_left() -> bool {
    sys::thread_count() == Some(1) && !process::others_alive()
}

/// How a wait ended.
pub(crate) enum Waited<T> {
    /// What the waiter was waiting for happened.
    Ready(T),
    /// The timeout passed first.
    TimedOut,
    /// Nobody is left who could make it happen.
    Abandoned,
}

/// Waits on `word` until `ready` returns `Some` (it is given the word's
/// current value), for at most `timeout` (`None`: no limit). After each slice
/// in which nothing woke the waiter, `idle` runs (to look for dead parties,
/// say; its `Some` ends the wait like `ready`'s); then a wait without a
/// timeout checks whether anybody is left, and if not, `ready` gets one last
/// look. A wait with a timeout never ends as [`Waited::Abandoned`].
pub(crate) fn wait_on<T>(
    word: &AtomicU32,
    timeout: Option<Duration>,
    mut ready: impl FnMut(u32) -> Option<T>,
    mut idle: impl FnMut() -> Option<T>,
) -> Waited<T> {
    // A timeout too long to add to the clock (`Duration::MAX`) is no limit.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut idle_since = Instant::now();
    loop {
        let seen = word.load(Ordering::Acquire);
        if let Some(value) = ready(seen) {
            return Waited::Ready(value);
        }
        let slice = match deadline {
            None => SLICE,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(SLICE),
                _ => return Waited::TimedOut,
            },
        };
        // The word often changes within microseconds (an `Event` set by a
        // process answering this one): look at it a while before sleeping.
        if look_a_while(|| word.load(Ordering::Acquire) != seen) {
            continue;
        }
        futex_wait(word, seen, slice);
        // Once the deadline has passed, the timeout wins over giving up: the
        // top of the loop gives `ready` one last look, then says so. (A
        // waiter that was not scheduled for a while may wake up past both
        // its deadline and the end of its idle slice.)
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            continue;
        }
        if idle_since.elapsed() >= SLICE {
            idle_since = Instant::now();
            if let Some(value) = idle() {
                return Waited::Ready(value);
            }
            if deadline.is_none() && nobody_left() {
                return match ready(word.load(Ordering::Acquire)) {
                    Some(value) => Waited::Ready(value),
                    None => Waited::Abandoned,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many times `look` calls `ready` for each of `answers`: a look
    /// finds its answer (`true`) at its first call, or looks in vain.
    fn calls(looker: &Looker, answers: &[bool]) -> Vec<u32> {
        answers
            .iter()
            .map(|&answer| {
                let mut calls = 0;
                let found = looker.look(Duration::ZERO, || {
                    calls += 1;
                    answer
                });
                assert!(!found || answer);
                calls
            })
            .collect()
    }

    #[test]
    fn a_looker_skips_more_waits_after_each_look_in_vain_and_looks_again_after_a_find() {
        let looker = Looker::new();
        // In vain, skip 1; in vain, skip 3; then a find: every wait looks.
        let vain = [false; 7];
        assert_eq!(calls(&looker, &vain), [1, 0, 1, 0, 0, 0, 1]);
        // The seventh was the third in vain in a row: seven skips follow.
        assert_eq!(calls(&looker, &[true; 8]), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(calls(&looker, &[true, false, true]), [1, 1, 0]);
        // At most 255 skips, however many looks were in vain.
        let looker = Looker::new();
        let looked: u32 = (0..3000).map(|_| calls(&looker, &[false])[0]).sum();
        let skipped_after = |misses: u32| (1 << misses.min(Looker::MOST_MISSES)) - 1;
        let mut expected = 0;
        let mut waits = 0;
        let mut misses = 0;
        while waits < 3000 {
            expected += 1;
            misses += 1;
            waits += 1 + skipped_after(misses);
        }
        assert_eq!(looked, expected);
    }
}
