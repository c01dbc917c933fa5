//! Check of 14_borrow_in_scope: the sums, and no copy of the data: an allocator that counts
//! bytes sees what `sum_by_halves` allocates (a thread's own bookkeeping is a few hundred
//! bytes; a copy of 8 MB of numbers is not).
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::exercise::{main as lesson, sum_by_halves};
use crate::support::{expect, expect_eq};

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller keeps GlobalAlloc::alloc's contract, which System's has too.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout, above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

pub fn main() {
    lesson();
    for n in [0_usize, 1, 7, 1_000_000] {
        let data: Vec<f64> = (0..n).map(|i| (i % 1000) as f64).collect();
        let want: f64 = data.iter().sum();
        let before = ALLOCATED.load(Ordering::Relaxed);
        let got = sum_by_halves(&data);
        let allocated = ALLOCATED.load(Ordering::Relaxed) - before;
        expect_eq(&format!("sum_by_halves of {n} numbers"), got, want);
        expect(
            &format!("sum_by_halves of {n} numbers copied nothing ({allocated} bytes allocated)"),
            allocated < 64 * 1024,
        );
    }
}
