//! Failing closed on a bug: a panic while scanning one file becomes an `errors` entry for
//! that file and the run goes on, so a crafted input can neither end the run early (losing
//! the findings of every other file) nor make it look clean. The panic's message is never
//! kept: it could quote the bytes being scanned, and so a key.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// The `errors` message for a file whose scan panicked.
pub(crate) const INTERNAL_ERROR: &str =
    "internal error: pkscan hit a bug scanning this file, so it was not fully scanned; \
     please report it";

/// Runs one file's scan; `None` when it panicked, and then the caller records
/// [`INTERNAL_ERROR`] for the file. Whatever the scan had collected before the panic is
/// kept: the collector is only ever appended to.
pub(crate) fn guarded<T>(scan: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(scan)).ok()
}

/// A test hook, compiled into debug builds only: scanning a file whose name ends with
/// `$PKSCAN_DEBUG_PANIC` panics with the file's first bytes in the message, so tests can
/// prove the panic is contained and its message withheld.
#[cfg(debug_assertions)]
pub(crate) fn debug_panic(path: &std::path::Path) {
    let Some(name) = std::env::var_os("PKSCAN_DEBUG_PANIC") else {
        return;
    };
    if !name.is_empty() && path.as_os_str().as_encoded_bytes().ends_with(name.as_encoded_bytes()) {
        let head = std::fs::read(path).unwrap_or_default();
        let head = String::from_utf8_lossy(&head[..head.len().min(200)]).into_owned();
        panic!("debug panic on request, scanning {head}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Collector;

    #[test]
    fn a_panic_is_caught_and_earlier_work_kept() {
        let mut out = Collector::default();
        let result: Option<()> = guarded(|| {
            out.error("dir/bad.bin!inner", "found before the panic");
            panic!("message that must not be kept");
        });
        assert_eq!(result, None);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].path, "dir/bad.bin!inner");
    }

    #[test]
    fn a_scan_that_returns_is_passed_through() {
        assert_eq!(guarded(|| 7), Some(7));
    }
}
