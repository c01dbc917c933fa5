//! Processes: Python's `multiprocessing.Process`, and who is who.
//!
//! One idea a file: the [`Process`] handle (`handle.rs`) and the [`Target`]
//! it runs (`target.rs`); how a child starts, as a copy of this process
//! (`fork.rs`) or as this program run afresh (`spawn.rs`, with [`init`] and
//! the checks a spawned child makes); a function sent to another process by
//! its place in the code (`function.rs`); what a child does in its own
//! process (`child.rs`); who this process is (`identity.rs`) and who the
//! others are (`info.rs`); the list of children (`children.rs`) and what
//! becomes of them when the program ends (`exit.rs`); how a process ended
//! (`ExitStatus`).

mod child;
mod children;
mod exit;
mod fork;
pub(crate) mod function;
mod handle;
mod identity;
mod info;
mod spawn;
mod status;
mod target;

pub(crate) use self::children::others_alive;
pub use self::handle::{Process, StartMethod};
pub(crate) use self::identity::parent_alive;
pub use self::info::{
    ProcessInfo, active_children, cpu_count, current_process, current_process_name, parent_process,
};
pub use self::spawn::init;
pub use self::status::ExitStatus;
pub use self::target::{Outcome, Target};
