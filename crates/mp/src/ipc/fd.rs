//! Handing an open file, socket or pipe to a child process: Python passes a
//! `socket` in a child's `args`, and the child gets its own descriptor for the
//! same connection.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::inherit;

/// An open file descriptor (a socket, a file, a pipe) to hand to a child in
/// its start arguments, with fork or spawn. The child gets a descriptor for
/// the same open file, and turns it back into what it was with
/// [`Fd::into_inner`] and `From<OwnedFd>` (`TcpStream::from`,
/// `UnixStream::from`, `File::from`).
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// fn job(fd: mp::Fd) {
///     let mut stream = UnixStream::from(fd.into_inner());
///     stream.write_all(b"hello").unwrap();
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let (mut ours, theirs) = UnixStream::pair().expect("a socket pair");
///     let mut p = mp::Process::new(job, mp::Fd::new(theirs));
///     p.start()?; // the parent's copy of `theirs` closes here
///     let mut got = String::new();
///     ours.read_to_string(&mut got).expect("read to the end");
///     assert_eq!(got, "hello");
///     p.join()?;
///     Ok(())
/// }
/// ```
///
/// Like a `Queue`, it travels only in start arguments: inside a message or a
/// pool task it is refused with
/// [`ErrorKind::NotInStartArguments`](crate::ErrorKind::NotInStartArguments).
pub struct Fd(OwnedFd);

impl Fd {
    /// Wraps an open file, socket or pipe.
    pub fn new(fd: impl Into<OwnedFd>) -> Self {
        Fd(fd.into())
    }

    /// The descriptor, to turn back into a socket or a file.
    pub fn into_inner(self) -> OwnedFd {
        self.0
    }
}

impl AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl fmt::Debug for Fd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Fd").field(&self.0.as_raw_fd()).finish()
    }
}

impl Serialize for Fd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        inherit::serialize_fd(self.0.as_raw_fd(), "Fd", s)
    }
}

impl<'de> Deserialize<'de> for Fd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        inherit::deserialize_fd(d).map(Fd)
    }
}
