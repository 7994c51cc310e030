//! Large files are read through read-only memory maps, a window at a time: the kernel then
//! has no copy to make from its page cache into a buffer, which is most of what a scan of
//! a warm tree costs (see BENCHMARKS.md).
//!
//! A map has one hazard that `read` does not: a file cut short by another process while it
//! is mapped raises SIGBUS at the next touch of a page past its new end, and by default
//! that kills the process, losing every finding of the run. So a window is only touched
//! while this thread has it registered, and a SIGBUS inside a registered window replaces
//! the rest of that window with zero pages: the scan goes on over zeros (no key is made of
//! zeros), and the caller learns that the file was cut short and reports it, as the
//! `read` path does. A SIGBUS anywhere else goes to the handler that was there before.
//!
//! Linux only: the handler reads the faulting address from Linux's `siginfo` and saves
//! `errno` through glibc's `__errno_location`. The handler is process-wide and installed
//! by the first map (documented on `pkscan::scan`); `--no-mmap` (`Options::mmap = false`) means it
//! is never installed. This is the crate's only unsafe code.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use memmap2::{Mmap, MmapOptions};

thread_local! {
    /// The address range of the window this thread is reading: `(start, end)`, or `(0, 0)`.
    /// Const-initialised and without a destructor, so the signal handler may read it.
    static GUARDED: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// Set by the signal handler when it had to replace pages of the guarded window.
    static CUT_SHORT: Cell<bool> = const { Cell::new(false) };
}

/// The SIGBUS action in place before ours, to hand other faults to.
struct Previous(libc::sigaction);
// SAFETY: written once before any fault can be routed to it, then only read.
unsafe impl Sync for Previous {}
unsafe impl Send for Previous {}

static PREVIOUS: OnceLock<Option<Previous>> = OnceLock::new();

/// Installs the SIGBUS handler once per process; false when it could not be, and then no
/// file is mapped.
fn handler_installed() -> bool {
    PREVIOUS
        .get_or_init(|| {
            PAGE_SIZE.store(page_size(), Ordering::Relaxed);
            // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the
            // handler below only makes async-signal-safe calls (mmap, sigaction) and reads
            // const-initialised thread-locals.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    on_sigbus;
                action.sa_sigaction = handler as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                (libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0)
                    .then_some(Previous(previous))
            }
        })
        .is_some()
}

extern "C" fn on_sigbus(_signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers; errno is this
    // thread's, saved here and put back below, since mmap may set it.
    let (address, errno) = unsafe { ((*info).si_addr() as usize, *libc::__errno_location()) };
    let (start, end) = GUARDED.with(Cell::get);
    let page_size = PAGE_SIZE.load(Ordering::Relaxed);
    if start <= address && address < end && page_size > 0 {
        let page = address & !(page_size - 1);
        // SAFETY: [page, end) lies inside the window this thread mapped and still owns
        // (`MapWindow` unregisters before unmapping); MAP_FIXED swaps its pages for zeros.
        let zeros = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                end - page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = errno };
        if zeros != libc::MAP_FAILED {
            CUT_SHORT.with(|cut| cut.set(true));
            return; // the faulting read is retried, and now reads zeros
        }
    }
    // Not ours: put the previous action back; returning retries the access, which faults
    // again and reaches it (the default action ends the process, as it would have).
    if let Some(Some(Previous(previous))) = PREVIOUS.get() {
        // SAFETY: restoring an action the kernel gave us.
        unsafe { libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut()) };
    }
}

/// Read once when the handler is installed: `sysconf` is not for signal handlers.
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// A mapped window of a file, registered for this thread while it lives.
pub(crate) struct MapWindow {
    map: Mmap,
}

impl MapWindow {
    /// Maps `len` bytes of `file` from `offset` and registers them; `None` when maps cannot
    /// be made safe here (the handler could not be installed).
    pub(crate) fn map(file: &File, offset: u64, len: usize) -> io::Result<Option<MapWindow>> {
        if !handler_installed() {
            return Ok(None);
        }
        // SAFETY: the map is read-only and private, and reading it after the file shrinks
        // is handled (see the module comment); nothing else about the file is assumed.
        let map = unsafe { MmapOptions::new().offset(offset).len(len).map(file)? };
        let page_size = PAGE_SIZE.load(Ordering::Relaxed); // stored by handler_installed
        let start = map.as_ptr() as usize & !(page_size - 1);
        let end = (map.as_ptr() as usize + map.len()).next_multiple_of(page_size);
        GUARDED.with(|guarded| guarded.set((start, end)));
        Ok(Some(MapWindow { map }))
    }

    /// True when part of this thread's current window read as zeros because the file had
    /// been cut short; clears the flag.
    pub(crate) fn take_cut_short() -> bool {
        CUT_SHORT.with(|cut| cut.replace(false))
    }
}

impl Deref for MapWindow {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for MapWindow {
    fn drop(&mut self) {
        // Unregister before the map goes, so a later fault at these addresses (reused by
        // another map) is never mistaken for ours.
        GUARDED.with(|guarded| guarded.set((0, 0)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reads_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let content: Vec<u8> = (0..3 * 4096 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).expect("write");
        let file = File::open(&path).expect("open");
        let window = MapWindow::map(&file, 4097, 8000).expect("map").expect("handler");
        assert_eq!(&window[..], &content[4097..4097 + 8000]);
        assert!(!MapWindow::take_cut_short());
    }

    #[test]
    fn a_file_cut_short_under_its_map_reads_as_zeros_and_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; 4 * 4096]).expect("write");
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).expect("open");
        let window = MapWindow::map(&file, 0, 4 * 4096).expect("map").expect("handler");
        file.set_len(4096 + 10).expect("truncate");
        // Without the handler this read would end the process with SIGBUS.
        let xs = window.iter().filter(|&&b| b == b'x').count();
        assert_eq!(xs, 4096 + 10, "what is still in the file reads as it is");
        assert!(window[2 * 4096..].iter().all(|&b| b == 0));
        assert!(MapWindow::take_cut_short());
        assert!(!MapWindow::take_cut_short(), "the flag is cleared once read");
    }
}
