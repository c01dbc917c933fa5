//! What `Queue::try_put` says when it did not put its item: the queue was
//! full, and here is the item back; or another error.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// Why [`Queue::try_put`](super::Queue::try_put) did not put its item: the queue was full, and
/// here is the item back (crossbeam's `TrySendError::Full`); or another
/// error, as [`Queue::put`](super::Queue::put) has them. `?` turns either into an [`Error`].
pub enum TryPutError<T> {
    /// No room in the queue's pipe right now (Python's `queue.Full`); the
    /// item, not sent.
    Full(T),
    /// Any other error (a closed queue, a value that cannot be serialized).
    Failed(Error),
}

impl<T> TryPutError<T> {
    /// What went wrong, as for any error of the crate:
    /// [`ErrorKind::QueueFull`] for [`TryPutError::Full`].
    pub fn kind(&self) -> &ErrorKind {
        static FULL: ErrorKind = ErrorKind::QueueFull;
        match self {
            TryPutError::Full(_) => &FULL,
            TryPutError::Failed(err) => err.kind(),
        }
    }

    /// The item that was not put, if the queue was full.
    pub fn into_item(self) -> Option<T> {
        match self {
            TryPutError::Full(item) => Some(item),
            TryPutError::Failed(_) => None,
        }
    }
}

impl<T> From<TryPutError<T>> for Error {
    fn from(err: TryPutError<T>) -> Error {
        match err {
            TryPutError::Full(_) => ErrorKind::QueueFull.into(),
            TryPutError::Failed(err) => err,
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => fmt::Display::fmt(&Error::from(ErrorKind::QueueFull), f),
            TryPutError::Failed(err) => fmt::Display::fmt(err, f),
        }
    }
}

/// Does not show the item, so that any `T` will do (as crossbeam's).
impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::Failed(err) => f.debug_tuple("Failed").field(err).finish(),
        }
    }
}

impl<T> std::error::Error for TryPutError<T> {}
