//! Check of 13_dead_holder: transfers with nobody dying; then a clerk killed halfway, and the
//! next transfer repairs the accounts and leaves the lock clean for the one after.
use mp::{Array, Lock, Process};

use crate::exercise::{TOTAL, clerk_killed_halfway, main as lesson, transfer};
use crate::support::{expect, expect_eq, fail};

fn accounts_after(accounts: &Array<i64>, lock: &Lock, amount: i64, what: &str) -> Vec<i64> {
    transfer(accounts, lock, amount).unwrap_or_else(|e| fail(&format!("{what}: {e}")));
    accounts
        .to_vec()
        .unwrap_or_else(|e| fail(&format!("{what}, reading the accounts: {e}")))
}

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    let (accounts, lock) = (Array::new(&[TOTAL, 0]).unwrap(), Lock::new().unwrap());
    let got = accounts_after(&accounts, &lock, 15, "transfer 15");
    expect_eq("the accounts after transfer 15", got, vec![TOTAL - 15, 15]);

    let mut clerk = Process::new(clerk_killed_halfway, (accounts.clone(), lock.clone(), 40));
    clerk
        .start()
        .unwrap_or_else(|e| fail(&format!("cannot start the clerk: {e}")));
    let _ = clerk.join();
    let got = accounts_after(
        &accounts,
        &lock,
        5,
        "transfer 5, after the clerk died taking 40",
    );
    expect_eq(
        "the accounts after a clerk died taking 40, then transfer 5",
        got,
        vec![TOTAL - 15 - 40 - 5, 15 + 40 + 5],
    );
    expect(
        "the lock is clean for the next holder (the repairing guard was released)",
        lock.lock().is_ok(),
    );
    let got = accounts_after(&accounts, &lock, 1, "transfer 1");
    expect_eq(
        "the accounts after one more transfer 1",
        got,
        vec![TOTAL - 61, 61],
    );
}
