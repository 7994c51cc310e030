//! Files and directories: `ignore`'s parallel walker, with each worker scanning the files
//! it meets. Everything below a root is read, hidden and git-ignored files too, except
//! `.git/` directories; `.gitignore` is honoured only on request. While walking, only
//! regular files are opened (FIFOs, sockets and devices are counted as skipped); a path
//! named on the command line is opened whatever it is, so `pkscan scan <(cmd)` works.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use ignore::gitignore::Gitignore;
use ignore::{DirEntry, WalkBuilder, WalkState};

use crate::config::Options;
use crate::paths::{
    build_excludes, display_path, find_repo_root, push_display_path, write_display_path,
};
use crate::sanitize::describe_io_error;
use crate::scan::{Blob, Collector, Manifests, Sink, CHUNK};
use crate::source::guard::{guarded, INTERNAL_ERROR};

/// A path named on the command line, with what its findings' paths are built from.
#[derive(Debug, Clone)]
struct Root {
    path: PathBuf,
    /// The root's own path relative to the repository root ("" for the root itself).
    root_relative: String,
    /// What the traits paths of the root's files start with: the root's path below the
    /// repository root, or outside one the scanned folder's name (so `/srv/site/dist` and
    /// `.` inside it still mark its files as served).
    traits_prefix: String,
    fs_root: PathBuf,
}

impl Root {
    fn new(path: &Path) -> Result<Root> {
        std::fs::metadata(path).with_context(|| format!("cannot read {}", display_path(path)))?;
        // A process substitution (`<(cmd)`) is a link to `pipe:[N]`, which has no canonical
        // form: measure it from where it was named.
        let canonical = path.canonicalize().or_else(|_| std::path::absolute(path))?;
        let repo = find_repo_root(&canonical);
        let base = repo.clone().unwrap_or_else(|| {
            if canonical.is_dir() {
                canonical.clone()
            } else {
                canonical.parent().map(Path::to_path_buf).unwrap_or_default()
            }
        });
        let root_relative = match canonical.strip_prefix(&base) {
            Ok(below) if !below.as_os_str().is_empty() => display_path(below),
            _ => String::new(),
        };
        // From the canonical path, never the typed one, so `scan .`, `scan dir` and
        // `scan /abs/dir` see the same folders: below the repository root, or the scanned
        // folder's own name and what is below it.
        let traits_prefix = match &repo {
            Some(_) => root_relative.clone(),
            None => {
                let name = base.file_name().map(|n| display_path(Path::new(n)));
                [name.unwrap_or_default(), root_relative.clone()]
                    .into_iter()
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join("/")
            }
        };
        Ok(Root { path: path.to_path_buf(), root_relative, traits_prefix, fs_root: base })
    }

    fn blob_for(&self, path: &Path) -> Blob {
        let mut blob = Blob::default();
        self.fill_blob(path, &mut blob);
        blob
    }

    /// Makes `blob` describe the file at `path`, reusing its buffers.
    fn fill_blob(&self, path: &Path, blob: &mut Blob) {
        write_display_path(path, &mut blob.display);
        let below = path.strip_prefix(&self.path).ok().filter(|b| !b.as_os_str().is_empty());
        let join = |prefix: &str, text: &mut String| {
            text.clear();
            text.push_str(prefix);
            if let Some(below) = below {
                if !prefix.is_empty() {
                    text.push('/');
                }
                push_display_path(below, text);
            }
        };
        match (self.root_relative.is_empty(), below, self.path.file_name()) {
            (true, None, Some(name)) => {
                write_display_path(Path::new(name), &mut blob.root_relative)
            }
            (true, None, None) => blob.root_relative.clear(),
            _ => join(&self.root_relative, &mut blob.root_relative),
        }
        join(&self.traits_prefix, &mut blob.traits_path);
        let fs_path = blob.fs_path.get_or_insert_with(PathBuf::new);
        fs_path.as_mut_os_string().clear();
        fs_path.push(path);
        if blob.fs_root.as_deref() != Some(self.fs_root.as_path()) {
            blob.fs_root = Some(self.fs_root.clone());
        }
        blob.manifests = Manifests::OnDisk;
        blob.layers.clear();
        blob.commit = None;
        blob.served = false;
    }
}

/// Walks every root in parallel and hands each file to a sink of its worker's, made by
/// `new_sink`; returns what the sinks collected, merged.
pub(crate) fn scan_paths<'e>(
    opts: &Options,
    paths: &[PathBuf],
    new_sink: &(dyn Fn() -> Sink<'e> + Sync),
) -> Result<Collector> {
    let roots: Vec<Root> = paths.iter().map(|p| Root::new(p)).collect::<Result<_>>()?;
    let excludes = build_excludes(&opts.exclude)?;
    let collected = Mutex::new(Collector::default());
    let Some((first, rest)) = roots.split_first() else {
        return Ok(Collector::default());
    };
    let mut builder = WalkBuilder::new(&first.path);
    rest.iter().for_each(|r| {
        builder.add(&r.path);
    });
    builder
        .standard_filters(false)
        .hidden(false)
        .git_ignore(opts.gitignore)
        .git_exclude(opts.gitignore)
        .git_global(opts.gitignore)
        .ignore(opts.gitignore)
        .parents(opts.gitignore)
        .require_git(false)
        .follow_links(opts.follow)
        .threads(opts.worker_threads());
    let filter_roots = roots.clone();
    builder.filter_entry(move |entry| keep_entry(entry, &filter_roots, &excludes));
    builder.build_parallel().run(|| {
        let mut worker =
            Worker { sink: new_sink(), roots: &roots, blob: Blob::default(), merged: &collected };
        Box::new(move |entry| {
            worker.visit(entry);
            WalkState::Continue
        })
    });
    Ok(collected.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

fn keep_entry(entry: &DirEntry, roots: &[Root], excludes: &Gitignore) -> bool {
    if entry.depth() == 0 {
        return true;
    }
    if entry.file_name() == ".git" {
        return false;
    }
    if excludes.is_empty() {
        return true;
    }
    let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
    let Some(root) = roots.iter().find(|r| entry.path().starts_with(&r.path)) else {
        return true;
    };
    let below = entry.path().strip_prefix(&root.path).unwrap_or(entry.path());
    let blob = root.blob_for(entry.path());
    !(excludes.matched(below, is_dir).is_ignore()
        || excludes.matched(Path::new(&blob.root_relative), is_dir).is_ignore())
}

/// Regular files at least this big are scanned through memory maps. Below it, the cost of
/// making and tearing down a map (page faults, a TLB flush) outweighs the copy it saves;
/// on the benchmark tree 1 MiB beat 256 KiB and 4 MiB by about 5 % each (BENCHMARKS.md).
const MAP_AT_LEAST: u64 = 1 << 20;

/// A mapped file whose pages could not all be read although it is as long as ever.
const UNREADABLE_UNDER_MAP: &str =
    "input/output error: part of the file could not be read, and was not scanned";

struct Worker<'a, 'e> {
    sink: Sink<'e>,
    roots: &'a [Root],
    /// The current file's blob, its buffers reused from file to file.
    blob: Blob,
    merged: &'a Mutex<Collector>,
}

impl Worker<'_, '_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => return self.walk_error(err),
        };
        let Some(file_type) = entry.file_type() else {
            return; // stdin, which the caller handles
        };
        if file_type.is_dir() {
            return;
        }
        let named_on_command_line = entry.depth() == 0;
        if !named_on_command_line && !file_type.is_file() {
            if !file_type.is_symlink() {
                self.sink.out.skipped += 1;
            }
            return;
        }
        let root =
            self.roots.iter().find(|r| entry.path().starts_with(&r.path)).unwrap_or(&self.roots[0]);
        let mut blob = std::mem::take(&mut self.blob);
        root.fill_blob(entry.path(), &mut blob);
        match guarded(|| self.scan_file(entry.path(), &blob)) {
            Some(Ok(())) => {}
            Some(Err(err)) => self.sink.out.error(blob.display.clone(), describe_io_error(&err)),
            None => self.sink.out.error(blob.display.clone(), INTERNAL_ERROR),
        }
        self.blob = blob;
    }

    fn scan_file(&mut self, path: &Path, blob: &Blob) -> io::Result<()> {
        #[cfg(debug_assertions)]
        super::guard::debug_panic(path);
        let mut file = File::open(path)?;
        // The size at open, so that a file cut short while it is read is reported rather
        // than passed as fully scanned.
        let meta = file.metadata()?;
        let at_open = meta.len();
        if let Some(max) = self.sink.opts().max_file_size.filter(|&max| at_open > max) {
            self.sink.out.error(
                &blob.display,
                format!("skipped: {at_open} bytes is over --max-file-size ({max} bytes)"),
            );
            return Ok(());
        }
        let now = |file: &File| file.metadata().map(|meta| meta.len()).unwrap_or(0);
        if self.sink.opts().mmap && meta.is_file() && at_open >= MAP_AT_LEAST {
            if let Some(mapped) = self.sink.mapped(&file, at_open, blob)? {
                let (read, error) = mapped_outcome(mapped.cut_short, at_open, || now(&file));
                self.scanned(blob, read, error);
                return Ok(());
            }
        }
        // A size of 0 may be a lie (procfs): such files are read to their end.
        if meta.is_file() && at_open > 0 && at_open <= CHUNK as u64 {
            let read = self.sink.small(&mut file, at_open, blob)?;
            self.scanned(blob, read, shrank(read, at_open, || now(&file)));
            return Ok(());
        }
        self.scan_sized(&mut file, at_open, now, blob)
    }

    /// Counts a scanned file of which `read` bytes were read, with the error that says why
    /// not all of it, if one does.
    fn scanned(&mut self, blob: &Blob, read: u64, error: Option<String>) {
        if let Some(message) = error {
            self.sink.out.error(&blob.display, message);
        }
        self.sink.out.files_scanned += 1;
        self.sink.out.bytes_scanned += read;
    }

    /// Scans `reader`, which had `at_open` bytes when it was opened; `now` tells how many
    /// it has after the scan.
    fn scan_sized<R: Read>(
        &mut self,
        reader: &mut R,
        at_open: u64,
        now: impl FnOnce(&R) -> u64,
        blob: &Blob,
    ) -> io::Result<()> {
        let mut counted = Counted { inner: &mut *reader, read: 0 };
        self.sink.file(&mut counted, blob)?;
        // The decoding layers may stop reading early (a limit, trailing bytes after an
        // archive), so a short read alone proves nothing: the file must also be shorter now.
        let read = counted.read;
        self.scanned(blob, read, shrank(read, at_open, || now(reader)));
        Ok(())
    }

    fn walk_error(&mut self, err: ignore::Error) {
        let (path, message) = split_walk_error(&err);
        self.sink.out.error(path, message);
    }
}

impl Drop for Worker<'_, '_> {
    fn drop(&mut self) {
        let out = std::mem::take(&mut self.sink.out);
        self.merged.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).merge(out);
    }
}

/// A reader that counts the bytes it yields.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// What a mapped scan read of a file of `at_open` bytes (`now` tells its length after the
/// scan), and the error to report when some of it read as zeros (`cut_short`): it was cut
/// short, or (still as long) a page of it could not be read at all.
fn mapped_outcome(
    cut_short: bool,
    at_open: u64,
    now: impl FnOnce() -> u64,
) -> (u64, Option<String>) {
    if !cut_short {
        return (at_open, None);
    }
    let left = now().min(at_open);
    match shrank(left, at_open, || left) {
        Some(message) => (left, Some(message)),
        None => (at_open, Some(UNREADABLE_UNDER_MAP.to_string())),
    }
}

/// The error for a file of `at_open` bytes of which only `read` could be read, if it was
/// cut short: fewer bytes read than it had, and fewer than that left now.
fn shrank(read: u64, at_open: u64, now: impl FnOnce() -> u64) -> Option<String> {
    (read < at_open && now() < at_open)
        .then(|| format!("shrank while being read: {read} of {at_open} bytes"))
}

/// The path and a plain message of a walk error (permission denied, a symlink loop).
fn split_walk_error(err: &ignore::Error) -> (String, String) {
    match err {
        ignore::Error::WithPath { path, err } => (display_path(path), split_walk_error(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            split_walk_error(err)
        }
        ignore::Error::Loop { child, ancestor } => {
            (display_path(child), format!("symbolic link loop back to {}", display_path(ancestor)))
        }
        ignore::Error::Io(io) => (String::new(), describe_io_error(io)),
        other => (String::new(), other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::scan::Engine;

    /// Scans `content` as a file that had `at_open` bytes when opened and `now` after.
    fn scan_cut(content: &[u8], at_open: u64, now: u64) -> Collector {
        let opts = Options::default();
        let engine = Engine::new(&opts);
        let merged = Mutex::new(Collector::default());
        let mut worker =
            Worker { sink: engine.sink(), roots: &[], blob: Blob::default(), merged: &merged };
        let blob = Blob { display: "cut.txt".into(), ..Blob::default() };
        let mut reader = content;
        worker.scan_sized(&mut reader, at_open, |_| now, &blob).expect("scan");
        drop(worker);
        merged.into_inner().expect("merged")
    }

    #[test]
    fn a_reused_blob_carries_nothing_over_from_the_last_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dist/assets")).unwrap();
        for root in [dir.path().to_path_buf(), dir.path().join("dist")] {
            let root = Root::new(&root).unwrap();
            let long = root.path.join("assets/a-much-longer-name.min.js");
            let short = root.path.join("b.js");
            let mut reused = root.blob_for(&long);
            reused.served = true;
            reused.layers.push(crate::finding::Layer::Gzip);
            root.fill_blob(&short, &mut reused);
            let fresh = root.blob_for(&short);
            assert_eq!(format!("{reused:?}"), format!("{fresh:?}"));
            assert!(reused.root_relative.ends_with("b.js"), "{}", reused.root_relative);
            assert!(reused.traits_path.ends_with("b.js"), "{}", reused.traits_path);
        }
    }

    #[test]
    fn a_mapped_file_that_read_zeros_is_reported_as_cut_or_unreadable() {
        assert_eq!(mapped_outcome(false, 10, || 10), (10, None));
        assert_eq!(
            mapped_outcome(true, 10, || 4),
            (4, Some("shrank while being read: 4 of 10 bytes".to_string()))
        );
        assert_eq!(mapped_outcome(true, 10, || 10), (10, Some(UNREADABLE_UNDER_MAP.to_string())));
    }

    fn errors(out: &Collector) -> Vec<(&str, &str)> {
        out.errors.iter().map(|e| (e.path.as_str(), e.message.as_str())).collect()
    }

    #[test]
    fn a_file_that_ends_early_is_an_error_and_what_was_read_is_kept() {
        const KEY: &str = "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"; // pkscan:allow
        let content = format!("const KEY = \"{KEY}\";\n");
        let out = scan_cut(content.as_bytes(), 1000, content.len() as u64);
        assert_eq!(out.files_scanned, 1);
        assert_eq!(out.bytes_scanned, content.len() as u64);
        let message = format!("shrank while being read: {} of 1000 bytes", content.len());
        assert_eq!(errors(&out), [("cut.txt", message.as_str())]);
        let found: Vec<&Finding> = out.findings.iter().collect();
        assert_eq!(found.len(), 1, "the key read before the cut is still reported");
    }

    #[test]
    fn a_short_read_of_a_file_as_long_as_ever_is_not_an_error() {
        // The decoders stopping early (a limit) leave bytes unread in a file that did not
        // shrink; and a file that grew while read (a log) is fine too.
        assert!(scan_cut(b"abc", 10, 10).errors.is_empty());
        assert!(scan_cut(b"abcdef", 3, 6).errors.is_empty());
        assert_eq!(shrank(6, 10, || 6).as_deref(), Some("shrank while being read: 6 of 10 bytes"));
        assert_eq!(shrank(10, 10, || 0), None);
    }

    #[test]
    fn a_file_gone_before_it_is_opened_has_vanished() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = File::open(dir.path().join("gone")).expect_err("no such file");
        assert_eq!(describe_io_error(&err), "vanished before it could be read");
    }
}
