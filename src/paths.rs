//! How paths are shown and where they are measured from: the display form findings use,
//! the repository root a root-relative path starts at, and the exclude globs. The ground
//! floor: every stage may use it; it uses no other module of the crate.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

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
    write_display_bytes(path.as_os_str().as_encoded_bytes(), text);
}

/// [`display_path`] of a path given as bytes (a git tree's `/`-separated names), on every
/// platform.
pub(crate) fn display_bytes(path: &[u8]) -> String {
    let mut text = String::new();
    write_display_bytes(path, &mut text);
    text
}

fn write_display_bytes(mut bytes: &[u8], text: &mut String) {
    text.clear();
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
    // Nearly every path is valid UTF-8, which `from_utf8` checks a word at a time.
    if let Ok(valid) = std::str::from_utf8(bytes) {
        text.push_str(valid);
        return;
    }
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

/// The directory a root-relative path is measured from: the enclosing git work tree, if any.
pub(crate) fn find_repo_root(start: &Path) -> Option<PathBuf> {
    find_root(start, false)
}

/// The root of the repository holding `start`: the enclosing work tree, or a bare
/// repository (a mirror) on the way to it, which is a repository of its own and not a
/// folder of the work tree around it.
pub(crate) fn find_repository_root(start: &Path) -> Option<PathBuf> {
    find_root(start, true)
}

fn find_root(start: &Path, bare_counts: bool) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    let mut dir = if start.is_dir() { Some(start.as_path()) } else { start.parent() };
    while let Some(d) = dir {
        if d.join(".git").exists() || (bare_counts && is_bare_repository(d)) {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// What git itself checks for a repository directory (`HEAD`, `objects/`, `refs/`); a
/// work tree's own `.git` folder is not one here, so it leads to its work tree.
fn is_bare_repository(dir: &Path) -> bool {
    dir.file_name().is_some_and(|name| name != ".git")
        && dir.join("HEAD").is_file()
        && dir.join("objects").is_dir()
        && dir.join("refs").is_dir()
}

/// The gitignore-style exclude globs of `--exclude` and the config, anchored at the root.
pub(crate) fn build_excludes(globs: &[String]) -> Result<Gitignore> {
    let mut builder = GitignoreBuilder::new("");
    for glob in globs {
        builder.add_line(None, glob).with_context(|| format!("invalid exclude glob {glob:?}"))?;
    }
    builder.build().context("invalid exclude globs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)] // names that are not valid UTF-8 are built from bytes on Unix
    fn display_paths() {
        assert_eq!(display_path(Path::new("./src/app.py")), "src/app.py");
        assert_eq!(display_path(Path::new("/abs/x")), "/abs/x");
        assert_eq!(display_path(Path::new(".")), ".");
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"a\xffb.js");
        assert_eq!(display_path(Path::new(name)), "a\\xffb.js");
        assert_eq!(
            display_path(Path::new(std::ffi::OsStr::from_bytes(b"a\xffb.js"))),
            "a\\xffb.js"
        );
    }
}
