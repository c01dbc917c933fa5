//! Every Rust snippet of the notes, compiled and run by `cargo test --workspace`.
//!
//! The Rust Book tests its listings with `mdbook test`, and rustdoc tests the
//! examples in documentation; this crate does the same for `notes/*.md`. Each
//! note becomes the documentation of one module below, so rustdoc finds its
//! ` ```rust ` blocks and treats each as a doc test:
//!
//! - a plain ` ```rust ` block is compiled and run (without a `fn main`,
//!   rustdoc wraps the block in one);
//! - ` ```rust,no_run ` is compiled only: for a program that hangs or kills on
//!   purpose;
//! - ` ```rust,compile_fail,E0499 ` must fail to compile (the notes test,
//!   `tests/notes_sync.rs`, also checks the error code, which stable rustdoc
//!   does not);
//! - ` ```rust,ignore ` is neither compiled nor run; the notes allow it at most
//!   once in ten blocks, with the reason beside it.
//!
//! The blocks that copy an example's code or output (after a
//! `<!-- code: ... -->` or `<!-- output: ... -->` marker) are left out here:
//! the build script marks them as text, because the example itself is built
//! by `cargo test` and its output is checked by its snapshot test.
//!
//! A failing snippet is reported with its note and line, for instance
//! `.../out/notes/05_queue.md - note_05_queue (line 111)`: the line numbers
//! are the note's own.

include!(concat!(env!("OUT_DIR"), "/notes.rs"));
