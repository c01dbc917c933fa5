//! The simulated GIL: one lock that a thread must hold to compute, handed over the way
//! CPython hands over its own (10_gil's lesson; 09_comparison and its benchmark borrow it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// CPython's default switch interval, `sys.getswitchinterval()`: 0.005 s.
const SWITCH_INTERVAL: Duration = Duration::from_millis(5);

/// A global interpreter lock: a thread must hold it to run "Python bytecode".
#[derive(Default)]
pub struct Gil {
    state: Mutex<State>,
    changed: Condvar,
    /// Set by a thread that waited a whole switch interval in vain: the holder must let go.
    drop_request: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Whether a thread holds the GIL.
    held: bool,
    /// How many times the GIL has been taken: a change means it changed hands.
    taken: u64,
}

impl Gil {
    /// Takes the GIL; after a whole switch interval in vain, asks the holder to let go.
    pub fn acquire(&self) {
        let mut state = self.state.lock().unwrap();
        while state.held {
            let taken = state.taken;
            let (new_state, wait) = self.changed.wait_timeout(state, SWITCH_INTERVAL).unwrap();
            state = new_state;
            if wait.timed_out() && state.taken == taken {
                self.drop_request.store(true, Ordering::Relaxed); // a whole interval: my turn
            }
        }
        state.held = true;
        state.taken += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        self.changed.notify_all();
    }

    /// Lets go of the GIL for good: the thread's job is done.
    pub fn release(&self) {
        self.state.lock().unwrap().held = false;
        self.changed.notify_all();
    }

    /// Whether another thread has asked the holder to let go.
    pub fn drop_requested(&self) -> bool {
        self.drop_request.load(Ordering::Relaxed)
    }

    /// Hands the GIL to the thread that asked for it, then queues up again.
    pub fn switch(&self) {
        let mut state = self.state.lock().unwrap();
        let taken = state.taken;
        state.held = false;
        self.changed.notify_all();
        // The fair hand-over: wait until the other thread has it (CPython's FORCE_SWITCHING).
        // Without this loop we would take it straight back before the other thread woke up.
        while state.taken == taken {
            state = self.changed.wait(state).unwrap();
        }
        drop(state);
        self.acquire();
    }

    /// How many times the GIL has been taken so far.
    #[allow(dead_code)] // 10_gil prints it; 09_comparison, which borrows this file, does not
    pub fn times_taken(&self) -> u64 {
        self.state.lock().unwrap().taken
    }
}
