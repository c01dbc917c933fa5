//! What a child process or a pool's task runs: a plain function of zero to
//! four arguments, given Python's `args` tuple, as in
//! `Process(target=f, args=(a, b))`.
//!
//! Another process finds a function by its place in the code (see
//! `function.rs`), which needs a `fn` pointer of one argument. A `fn` item
//! of any arity is turned into one here: a small generic function, one per
//! target (`shim2::<F, A, B, R>` for two arguments), unpacks the tuple and
//! calls `F`. The shim has no `F` value to call, only its type; but a `fn`
//! item, and a closure that captures nothing, is a type of size zero whose
//! one value carries no data, so the shim makes that value out of nothing
//! ([`conjure`]). A closure that captures something has a size, and is
//! refused: its captured values live in one process's memory only (Python's
//! "must be picklable").

use std::any::Any;
use std::fmt::Display;

/// A function a child process or a pool worker can run: a plain `fn` item
/// (or a closure that captures nothing) of zero to four arguments, or a
/// `fn` pointer of one argument.
///
/// Its arguments go as Python's `args` tuple: `()` for none, the value
/// itself for one, a tuple for two to four. `Marker` only tells the arities
/// apart: it is inferred, never written.
///
/// ```
/// fn greet(name: String, times: u32) {
///     for _ in 0..times {
///         println!("hello {name}");
///     }
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     // Python: Process(target=greet, args=('bob', 2))
///     let mut p = mp::Process::new(greet, ("bob".to_owned(), 2));
///     p.start()?;
///     p.join()?;
///     Ok(())
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the target of a process or a pool task",
    label = "a plain `fn` of 0 to 4 arguments is needed here",
    note = "pass the function itself, and its arguments as Python's `args`: `()` for none, \
            the value for one, a tuple `(a, b)` for two to four"
)]
pub trait Target<Marker>: Copy + Send + 'static {
    /// The arguments, as one value.
    type Args;
    /// What the function returns.
    type Output;
    /// Calls the function here.
    fn call(self, args: Self::Args) -> Self::Output;
    /// The same call as a `fn` pointer of one argument, which another
    /// process can find; `None` for a closure that captures something.
    fn as_fn(self) -> Option<fn(Self::Args) -> Self::Output>;
    /// Like [`Target::as_fn`], without a value: `Some` only for a zero-sized
    /// target (a `fn` item, a closure that captures nothing), found by its
    /// type alone.
    #[doc(hidden)]
    fn zero_sized_fn() -> Option<fn(Self::Args) -> Self::Output>;
}

/// A value of the zero-sized type `F`, made out of nothing.
///
/// # Safety
///
/// `F` must be zero-sized, and a value of `F` must have existed in the
/// program (so the type is inhabited); `F: Copy`, so one more value of it
/// breaks no rule of its type.
unsafe fn conjure<F: Copy>() -> F {
    debug_assert_eq!(size_of::<F>(), 0);
    // SAFETY: reading a zero-sized value reads no bytes, so a dangling,
    // aligned, non-null pointer is a valid place to read it from; the caller
    // promises the type is inhabited and may be copied.
    unsafe { std::ptr::NonNull::<F>::dangling().as_ptr().read() }
}

macro_rules! target {
    ($shim:ident; $($arg:ident: $ty:ident),*) => {
        fn $shim<F, $($ty,)* R>(($($arg,)*): ($($ty,)*)) -> R
        where
            F: Fn($($ty),*) -> R + Copy,
        {
            // SAFETY: `zero_sized_fn` hands out this shim only for a
            // zero-sized `F`, and only to a `Process` or a pool that was
            // given a value of it.
            let f = unsafe { conjure::<F>() };
            f($($arg),*)
        }

        impl<F, $($ty,)* R> Target<fn($($ty),*) -> R> for F
        where
            F: Fn($($ty),*) -> R + Copy + Send + 'static,
            $($ty: 'static,)*
            R: 'static,
        {
            type Args = ($($ty,)*);
            type Output = R;

            fn call(self, ($($arg,)*): Self::Args) -> R {
                self($($arg),*)
            }

            fn as_fn(self) -> Option<fn(Self::Args) -> R> {
                Self::zero_sized_fn()
            }

            fn zero_sized_fn() -> Option<fn(Self::Args) -> R> {
                (size_of::<F>() == 0).then_some($shim::<F, $($ty,)* R> as fn(Self::Args) -> R)
            }
        }
    };
}

target!(shim0;);
target!(shim2; a: A, b: B);
target!(shim3; a: A, b: B, c: C);
target!(shim4; a: A, b: B, c: C, d: D);

fn shim1<F: Fn(A) -> R + Copy, A, R>(a: A) -> R {
    // SAFETY: as in the other shims.
    let f = unsafe { conjure::<F>() };
    f(a)
}

/// One argument goes as it is, not in a tuple of one.
impl<F, A, R> Target<fn(A) -> R> for F
where
    F: Fn(A) -> R + Copy + Send + 'static,
    A: 'static,
    R: 'static,
{
    type Args = A;
    type Output = R;

    fn call(self, a: A) -> R {
        self(a)
    }

    fn as_fn(self) -> Option<fn(A) -> R> {
        // A `fn` pointer is its own code address.
        Self::zero_sized_fn().or_else(|| (&self as &dyn Any).downcast_ref::<fn(A) -> R>().copied())
    }

    fn zero_sized_fn() -> Option<fn(A) -> R> {
        (size_of::<F>() == 0).then_some(shim1::<F, A, R> as fn(A) -> R)
    }
}

/// What a process's target may return: nothing, or a `Result` whose `Err`
/// ends the child with exit code 1 and its message on stderr, as an uncaught
/// exception ends a Python child.
pub trait Outcome: 'static {
    /// `Err` with the message, if the target failed.
    fn into_failure(self) -> Result<(), String>;
}

impl Outcome for () {
    fn into_failure(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display + 'static> Outcome for Result<(), E> {
    fn into_failure(self) -> Result<(), String> {
        self.map_err(|err| err.to_string())
    }
}
