//! Nothing but a home for `tests/browser.rs`, which opens every page of the built book in
//! headless Chromium: see that file, and `.ci/book`, which builds the book and runs it.
