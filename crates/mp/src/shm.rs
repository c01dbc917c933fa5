//! Memory that is really shared between processes.
//!
//! The trap this module exists for: `memmap2::MmapMut::map_anon` makes a
//! *private* mapping. After `fork` the child gets a copy-on-write copy, so the
//! parent never sees the child's writes. Shared memory must be a *shared*
//! mapping of a file that both processes map. On Linux that file is a
//! `memfd`: it lives only in memory, has no name in the file system, and
//! disappears when the last process that has it open or mapped ends, so no
//! shared-memory file can ever be left behind.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use memmap2::MmapMut;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::inherit;

/// A block of memory shared by every process that holds it: the parent that
/// made it, its forked children (which inherit the mapping), and spawned
/// children (which receive the file in their start arguments and map it).
///
/// Cloning is cheap and shares the same memory.
#[derive(Clone)]
pub(crate) struct SharedMemory {
    inner: Arc<Mapping>,
}

struct Mapping {
    /// The shared mapping of `file`. `MmapMut::map_mut` uses `MAP_SHARED`.
    map: Arc<MmapMut>,
    /// The memory's file, kept open so that it can be handed to spawned
    /// children; `None` in a handle made by [`SharedMemory::mapping_only`].
    file: Option<File>,
    /// What kind of object uses this memory, for error messages.
    what: &'static str,
    /// The file's device and inode: the same for every mapping of this
    /// memory, in every process, where addresses differ (see [`SharedMemory::is_same`]).
    id: (u64, u64),
    /// Set once [`SharedMemory::keep_mapped_for_good`] has kept the mapping.
    kept_for_good: AtomicBool,
}

impl SharedMemory {
    /// Makes `len` bytes of zeroed shared memory for an object of type `what`.
    pub(crate) fn new(what: &'static str, len: usize) -> Result<Self> {
        let file = anonymous_file(what)?;
        file.set_len(len.max(1) as u64)
            .map_err(|e| Error::os("size shared memory", e))?;
        seal_size(&file)?;
        Self::map(what, file)
    }

    /// Maps memory received from another process. On Linux it must be sealed
    /// at its size, as `new` leaves it: a descriptor that names any other file
    /// (one that somebody could truncate while it is mapped) is refused.
    fn map_received(file: File) -> Result<Self> {
        check_size_sealed(&file)?;
        Self::map("shared object", file)
    }

    fn map(what: &'static str, file: File) -> Result<Self> {
        // SAFETY: memmap2 requires that nobody truncates the file while it is
        // mapped, or touching the lost pages would raise SIGBUS. Nobody can:
        // the file has no name, so no other program can open it; on Linux it
        // is sealed against any change of size (`seal_size`), and memory
        // received from another process is mapped only once that seal is
        // checked (`map_received`); elsewhere this crate alone has it and
        // never changes its size after `new`.
        let map =
            unsafe { MmapMut::map_mut(&file) }.map_err(|e| Error::os("map shared memory", e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::os("identify shared memory", e))?;
        let id = (meta.dev(), meta.ino());
        Ok(SharedMemory {
            inner: Arc::new(Mapping {
                map: Arc::new(map),
                file: Some(file),
                what,
                id,
                kept_for_good: AtomicBool::new(false),
            }),
        })
    }

    /// Another handle on the same mapping that keeps it mapped but not its
    /// file open: for something that must outlive the program's handles
    /// in this process (a semaphore slot a thread keeps) without holding a
    /// file descriptor for as long. It cannot go to another process.
    pub(crate) fn mapping_only(&self) -> SharedMemory {
        SharedMemory {
            inner: Arc::new(Mapping {
                map: Arc::clone(&self.inner.map),
                file: None,
                what: self.inner.what,
                id: self.inner.id,
                kept_for_good: AtomicBool::new(false),
            }),
        }
    }

    /// Keeps the memory mapped in this process until it ends, whatever
    /// happens to the handles (its file still closes with them): for memory
    /// that this process may use after its last handle is gone (a lock held
    /// by a guard leaked with `mem::forget`). Asking again, from any clone of
    /// this handle, keeps nothing more.
    pub(crate) fn keep_mapped_for_good(&self) {
        if !self.inner.kept_for_good.swap(true, Ordering::Relaxed) {
            std::mem::forget(Arc::clone(&self.inner.map));
        }
    }

    /// The start of the memory. It is page-aligned, so any type fits at offset 0.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.inner.map.as_ptr().cast_mut()
    }

    /// Whether `other` is this very memory, mapped once more: a spawned
    /// child that receives one object twice maps its memory twice, at two
    /// addresses, so comparing addresses is not enough.
    pub(crate) fn is_same(&self, other: &SharedMemory) -> bool {
        self.inner.id == other.inner.id
    }

    /// Its size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.inner.map.len()
    }
}

/// A file that lives only in memory and has no name.
#[cfg(target_os = "linux")]
fn anonymous_file(what: &'static str) -> Result<File> {
    use std::os::fd::FromRawFd;
    let name = std::ffi::CString::new(format!("mp-{what}")).expect("no NUL in a type name");
    // SAFETY: `name` is a valid C string; memfd_create returns a new descriptor or -1.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd == -1 {
        return Err(Error::last_os("create shared memory (memfd_create)"));
    }
    // SAFETY: memfd_create just returned this descriptor; nothing else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// The seals that fix a memfd's size for good: it can neither shrink (which
/// would pull pages from under every mapping) nor grow, and the seals cannot
/// be lifted.
#[cfg(target_os = "linux")]
const SIZE_SEALS: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

/// Seals the memory's file at its present size.
#[cfg(target_os = "linux")]
fn seal_size(file: &File) -> Result<()> {
    // SAFETY: F_ADD_SEALS takes an int of seal bits and touches no memory of ours.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, SIZE_SEALS) } == -1 {
        return Err(Error::last_os("seal shared memory at its size"));
    }
    Ok(())
}

/// Checks that a received file is memory sealed at its size, as `seal_size` leaves it.
#[cfg(target_os = "linux")]
fn check_size_sealed(file: &File) -> Result<()> {
    // SAFETY: F_GET_SEALS reads the file's seals and touches no memory of ours;
    // for a file that cannot be sealed (not a memfd) it fails with EINVAL.
    let seals = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) };
    if seals == -1 || seals & SIZE_SEALS != SIZE_SEALS {
        return Err(Error::from(crate::error::ErrorKind::InvalidArgument(
            "the descriptor received as shared memory is not memory this crate made \
             (a memfd sealed at its size)",
        )));
    }
    Ok(())
}

/// Elsewhere there are no seals: the memory has no name, and only this crate has it.
#[cfg(not(target_os = "linux"))]
fn seal_size(_file: &File) -> Result<()> {
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn check_size_sealed(_file: &File) -> Result<()> {
    Ok(())
}

/// A file that lives only in memory: `shm_open` under a random name, unlinked
/// at once so that it cannot be left behind.
#[cfg(not(target_os = "linux"))]
fn anonymous_file(what: &'static str) -> Result<File> {
    use std::os::fd::FromRawFd;
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("/mp-{}-{}-{nanos}", what, std::process::id());
    let name = std::ffi::CString::new(name).expect("no NUL in the name");
    // SAFETY: `name` is a valid C string; shm_open returns a new descriptor or -1.
    let fd = unsafe {
        libc::shm_open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
            0o600,
        )
    };
    if fd == -1 {
        return Err(Error::last_os("create shared memory (shm_open)"));
    }
    // SAFETY: `name` is a valid C string; the object stays alive while `fd` is open.
    unsafe { libc::shm_unlink(name.as_ptr()) };
    // SAFETY: shm_open just returned this descriptor; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    crate::sys::set_cloexec(fd.as_raw_fd(), true)
        .map_err(|e| Error::os("create shared memory", e))?;
    Ok(File::from(fd))
}

impl Serialize for SharedMemory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.inner.file {
            Some(file) => inherit::serialize_fd(file.as_raw_fd(), self.inner.what, s),
            None => Err(serde::ser::Error::custom(
                "a handle made by mapping_only cannot go to another process (a bug in the mp crate)",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let fd = inherit::deserialize_fd(d)?;
        SharedMemory::map_received(File::from(fd)).map_err(serde::de::Error::custom)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Nobody can change the size of the crate's shared memory, not even with
    /// its own descriptor: a smaller file would make every mapping of it fault.
    #[test]
    fn shared_memory_is_sealed_at_its_size() {
        let memory = SharedMemory::new("test", 100).unwrap();
        let file = memory.inner.file.as_ref().unwrap();
        let err = file.set_len(0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        assert!(file.set_len(1 << 20).is_err());
    }

    /// Memory received from another process is mapped only if it is the
    /// crate's sealed memory: any other file could shrink under the mapping.
    #[test]
    fn received_memory_must_be_sealed() {
        let memory = SharedMemory::new("test", 100).unwrap();
        let copy = memory.inner.file.as_ref().unwrap().try_clone().unwrap();
        assert_eq!(
            SharedMemory::map_received(copy).unwrap().len(),
            memory.len()
        );

        let plain = File::options()
            .read(true)
            .write(true)
            .open("/dev/zero")
            .unwrap();
        assert!(SharedMemory::map_received(plain).is_err());
        let unsealed = anonymous_file("unsealed").unwrap();
        unsealed.set_len(100).unwrap();
        assert!(SharedMemory::map_received(unsealed).is_err());
    }

    /// A lock's memory kept for a leaked guard is kept once, however many
    /// handles are dropped while the lock is held (each drop asks again).
    #[test]
    fn memory_kept_for_good_is_kept_once() {
        let memory = SharedMemory::new("test", 64).unwrap();
        let clones: Vec<SharedMemory> = (0..3).map(|_| memory.clone()).collect();
        assert_eq!(Arc::strong_count(&memory.inner.map), 1);
        for clone in &clones {
            clone.keep_mapped_for_good();
        }
        memory.keep_mapped_for_good();
        assert_eq!(Arc::strong_count(&memory.inner.map), 2);
        let map = Arc::clone(&memory.inner.map);
        drop(clones);
        drop(memory);
        assert_eq!(
            Arc::strong_count(&map),
            2,
            "still mapped once the handles are gone"
        );
    }
}
