//! Where bytes come from: the file tree (`fs`), git history and the index (`git`), a live
//! site (`url`), and standard input. Each source turns what
//! it reads into `scan::Blob`s and hands them to the engine; none of them classifies.

pub(crate) mod fs;
pub mod git;
pub(crate) mod guard;
pub(crate) mod maps;
pub(crate) mod mmap;
pub mod url;

use std::io::Read;
use std::path::Path;

use crate::scan::{Blob, Collector, Engine, Scratch};

/// The path as findings show it: `/`-separated, a leading `./` dropped, each byte of an
/// invalid UTF-8 sequence written as `\xNN`.
pub fn display_path(path: &Path) -> String {
    let mut text = String::new();
    write_display_path(path, &mut text);
    text
}

/// [`display_path`] into `text`, replacing what it held: the walk reuses one buffer per
/// worker, so a file's path costs no allocation once the buffer has grown.
pub(crate) fn write_display_path(path: &Path, text: &mut String) {
    text.clear();
    let mut bytes = path.as_os_str().as_encoded_bytes();
    while let Some(rest) = bytes.strip_prefix(b"./") {
        bytes = rest;
    }
    push_escaped(bytes, text);
    if text.is_empty() {
        text.push('.');
    }
}

/// Appends `bytes` as text, each byte of an invalid UTF-8 sequence as `\xNN`.
fn push_escaped(bytes: &[u8], text: &mut String) {
    use std::fmt::Write;
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(text, "\\x{b:02x}");
        }
    }
}

/// Appends a path below a root (never `./`-prefixed) in [`display_path`]'s form.
pub(crate) fn push_display_path(path: &Path, text: &mut String) {
    push_escaped(path.as_os_str().as_encoded_bytes(), text);
}

/// Scans standard input as one blob named `<stdin>`.
pub(crate) fn scan_stdin(engine: &Engine<'_>, out: &mut Collector) {
    let blob = Blob {
        display: "<stdin>".into(),
        root_relative: "<stdin>".into(),
        traits_path: "<stdin>".into(),
        ..Blob::default()
    };
    let mut scratch = Scratch::default();
    let mut stdin = std::io::stdin().lock();
    let scanned =
        guard::guarded(|| engine.scan_file(&mut stdin as &mut dyn Read, &blob, &mut scratch, out));
    match scanned {
        Some(Ok(bytes)) => {
            out.files_scanned += 1;
            out.bytes_scanned += bytes;
        }
        Some(Err(err)) => out.error("<stdin>", fs::describe_io_error(&err)),
        None => out.error("<stdin>", guard::INTERNAL_ERROR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn display_paths() {
        assert_eq!(display_path(Path::new("./src/app.py")), "src/app.py");
        assert_eq!(display_path(Path::new("/abs/x")), "/abs/x");
        assert_eq!(display_path(Path::new(".")), ".");
        assert_eq!(display_path(Path::new(OsStr::from_bytes(b"a\xffb.js"))), "a\\xffb.js");
    }
}
