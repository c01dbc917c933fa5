//! A flag that processes wait for: Python's `multiprocessing.Event`.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, Result};
use crate::region::Region;
use crate::sync::wait::{Waited, futex_wake, wait_on};

/// A flag shared between processes (and threads), which they can wait for:
/// Python's `multiprocessing.Event`.
///
/// It starts cleared. [`set`](Event::set) raises it and wakes every waiter;
/// [`clear`](Event::clear) lowers it; [`wait`](Event::wait) returns at once
/// if it is set, and otherwise sleeps until someone sets it.
///
/// ```
/// use mp::{Event, Process};
///
/// fn job(ready: Event) {
///     // ... get ready ...
///     ready.set();
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let ready = Event::new()?;
///     let mut p = Process::new(job, ready.clone());
///     p.start()?;
///     ready.wait()?; // returns once the child has called set()
///     assert!(ready.is_set());
///     p.join()?;
///     Ok(())
/// }
/// ```
///
/// A clone is the same event. Pass it to a process in its start arguments
/// (fork or spawn), or to a thread.
///
/// # Set, then cleared at once
///
/// A waiter that was asleep when the event was set returns `Ok`, even if the
/// event was cleared again before it woke up (as with Python's
/// `threading.Event`; `multiprocessing.Event` may miss such a pulse). The
/// event counts its `set`s to know: only if exactly 2³¹ of them came and went
/// while one waiter slept would it miss them.
///
/// # When `wait` gives up
///
/// Python's `wait()` on an event nobody sets sleeps forever. Here a waiter
/// that has slept 50 ms checks whether anybody is left who could set the
/// event: another thread of its process, a child process it started that is
/// still running (a pool's worker included), or (in a child) its parent. If
/// none is left, it looks at the flag once more and returns
/// [`ErrorKind::WaitAbandoned`]. (Sibling and grandchild processes are not
/// counted: see [`ErrorKind::WaitAbandoned`].) [`Event::wait_timeout`] never
/// gives up early: it runs to its timeout, as Python's `wait(timeout)` does.
#[derive(Clone, Serialize, Deserialize)]
pub struct Event {
    region: Region<AtomicU32>,
}

/// The event's one word in shared memory: bit 0 is the flag; the other bits
/// count the `set`s that raised it (wrapping), so a waiter can tell that a
/// `set` came even if a `clear` followed before it looked.
const FLAG: u32 = 1;
const ONE_SET: u32 = 2;

impl Event {
    /// Makes a new event, not set (Python's `Event()`).
    pub fn new() -> Result<Self> {
        // Zeroed memory: the flag is clear and no set has happened.
        let region = Region::new("Event", 0, |_, _| {})?;
        Ok(Event { region })
    }

    fn word(&self) -> &AtomicU32 {
        self.region.header()
    }

    /// Sets the flag and wakes every waiter (Python's `set()`).
    pub fn set(&self) {
        let word = self.word();
        let raised = word
            .fetch_update(Ordering::Release, Ordering::Relaxed, |v| {
                (v & FLAG == 0).then_some(v.wrapping_add(ONE_SET) | FLAG)
            })
            .is_ok();
        // If the flag was already set, nobody can be asleep waiting for it.
        if raised {
            futex_wake(word, i32::MAX);
        }
    }

    /// Clears the flag (Python's `clear()`): later waiters sleep until the next `set`.
    pub fn clear(&self) {
        self.word().fetch_and(!FLAG, Ordering::Relaxed);
    }

    /// Whether the flag is set (Python's `is_set()`).
    pub fn is_set(&self) -> bool {
        self.word().load(Ordering::Acquire) & FLAG != 0
    }

    /// Waits until the flag is set (Python's `wait()`).
    ///
    /// Returns [`ErrorKind::WaitAbandoned`] when nobody is left who could set
    /// it (see the type's docs).
    pub fn wait(&self) -> Result<()> {
        match self.wait_for(None) {
            Waited::Ready(()) => Ok(()),
            Waited::TimedOut => unreachable!("a wait without a timeout does not time out"),
            Waited::Abandoned => Err(ErrorKind::WaitAbandoned {
                what: "Event::wait",
            }
            .into()),
        }
    }

    /// Waits at most `timeout` for the flag (Python's `wait(timeout)`):
    /// `Ok(true)` once it is set, `Ok(false)` if the time ran out first.
    /// Unlike [`Event::wait`], it does not give up when nobody is left who
    /// could set the flag: it returns at its timeout. (A timeout too long for
    /// the clock, `Duration::MAX`, is no timeout: it gives up like `wait`.)
    #[doc(alias("wait"))]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        match self.wait_for(Some(timeout)) {
            Waited::Ready(()) => Ok(true),
            Waited::TimedOut => Ok(false),
            Waited::Abandoned => Err(ErrorKind::WaitAbandoned {
                what: "Event::wait_timeout",
            }
            .into()),
        }
    }

    fn wait_for(&self, timeout: Option<Duration>) -> Waited<()> {
        let word = self.word();
        let start = word.load(Ordering::Acquire);
        // Ready when the flag is up, or when a set has come since we started
        // (the count moved), even if a clear came after it.
        let ready = |v: u32| (v & FLAG != 0 || v >> 1 != start >> 1).then_some(());
        wait_on(word, timeout, ready, || None)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}
