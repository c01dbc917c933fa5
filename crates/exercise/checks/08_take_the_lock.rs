//! Check of 08_take_the_lock: the totals, and the lock really taken. A process of the check's
//! takes the lock first and holds it a while: workers that take the lock cannot finish before
//! it lets go, so when `run` returns, the holder must already have let go.
use std::time::Duration;

use mp::{Event, Lock, LockError, Process, Value};

use crate::exercise::{main as lesson, run};
use crate::support::{children_faults, expect, expect_eq, fail, say};

/// Takes the lock, says so, holds it a while, then notes that it lets go, and lets go.
fn holder((lock, holding, let_go): (Lock, Event, Value<u8>)) -> mp::Result<()> {
    let _guard = lock.lock().or_else(LockError::recover)?;
    holding.set();
    std::thread::sleep(Duration::from_millis(300));
    let_go.set(1)
}

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    let (lock, holding, let_go) = (
        Lock::new().unwrap(),
        Event::new().unwrap(),
        Value::new(0u8).unwrap(),
    );
    for nums in [vec![1, 3], vec![2, 5, 7], vec![]] {
        let before = children_faults();
        let got = run(&nums, &lock).unwrap_or_else(|e| fail(&format!("run(&{nums:?}): {e}")));
        expect_eq(
            &format!("run(&{nums:?})"),
            got,
            5 * nums.iter().sum::<i32>(),
        );
        if !nums.is_empty() {
            expect(
                &format!("run(&{nums:?}) ran worker processes"),
                children_faults() > before,
            );
        }
    }
    say("now another process holds the lock for 300 ms, and the check calls run(&[1, 2])");
    let mut other = Process::new(holder, (lock.clone(), holding.clone(), let_go.clone()));
    other
        .start()
        .unwrap_or_else(|e| fail(&format!("cannot start the lock holder: {e}")));
    holding
        .wait()
        .unwrap_or_else(|e| fail(&format!("the lock holder did not start: {e}")));
    let got = run(&[1, 2], &lock).unwrap_or_else(|e| fail(&format!("run(&[1, 2]): {e}")));
    let waited = let_go
        .get()
        .unwrap_or_else(|e| fail(&format!("cannot read the holder's note: {e}")))
        == 1;
    let _ = other.join();
    expect_eq("run(&[1, 2])", got, 15);
    expect(
        "run(&[1, 2]) finished only after the other process let go of the lock (if it finished \
         first, its workers never took the lock)",
        waited,
    );
}
