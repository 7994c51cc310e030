//! Where bytes come from: the file tree (`fs`), git history and the index (`git`), a live
//! site (`url`), and standard input. Each source turns what
//! it reads into `scan::Blob`s and hands them to the engine; none of them classifies.

pub(crate) mod fs;
pub(crate) mod git;
pub(crate) mod guard;
pub(crate) mod maps;
pub(crate) mod url;

use std::io::Read;

use crate::sanitize::describe_io_error;
use crate::scan::{Blob, Sink};

/// Hands standard input to `sink` as one blob named `<stdin>`.
pub(crate) fn scan_stdin(sink: &mut Sink<'_>) {
    let blob = Blob {
        display: "<stdin>".into(),
        root_relative: "<stdin>".into(),
        traits_path: "<stdin>".into(),
        ..Blob::default()
    };
    let mut stdin = std::io::stdin().lock();
    let scanned = guard::guarded(|| sink.file(&mut stdin as &mut dyn Read, &blob));
    let out = &mut sink.out;
    match scanned {
        Some(Ok(bytes)) => {
            out.files_scanned += 1;
            out.bytes_scanned += bytes;
        }
        Some(Err(err)) => out.error("<stdin>", describe_io_error(&err)),
        None => out.error("<stdin>", guard::INTERNAL_ERROR),
    }
}
