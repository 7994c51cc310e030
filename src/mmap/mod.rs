//! Large files through read-only memory maps, a window at a time, where that is safe: on
//! Linux (`linux.rs`), whose SIGBUS handler turns a file cut short under its map into zero
//! pages and a flag. Elsewhere `MapWindow::map` always answers `None`, and every file takes
//! the read path, with the same findings. A ground-floor helper: it uses no other module.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::MapWindow;

#[cfg(not(target_os = "linux"))]
pub(crate) use fallback::MapWindow;

/// No maps here: every caller falls back to reading.
#[cfg(not(target_os = "linux"))]
mod fallback {
    use std::fs::File;
    use std::io;
    use std::ops::Deref;

    pub(crate) struct MapWindow;

    impl MapWindow {
        /// Always `None`: the file is read instead.
        pub(crate) fn map(_file: &File, _offset: u64, _len: usize) -> io::Result<Option<Self>> {
            Ok(None)
        }

        /// Never set: nothing is mapped.
        pub(crate) fn take_cut_short() -> bool {
            false
        }
    }

    impl Deref for MapWindow {
        type Target = [u8];

        fn deref(&self) -> &[u8] {
            &[]
        }
    }
}
