//! Git repositories: the whole history (`pkscan git`) and the staged change
//! (`pkscan git --staged`), read through gitoxide, never through `git` subprocesses.
//!
//! History is walked once: commits, then tree diffs against parents that skip unchanged
//! subtrees by id (`walk`); every distinct blob is read and scanned once, in parallel
//! with the walk (`blobs`); only blobs that had findings are then attributed to the
//! commits that introduced them (`attribute`). This module owns what both modes share:
//! finding the repository, commit metadata, and the blob-to-engine glue. It does not
//! print: the progress bar is drawn only when the caller asks for it.

pub(crate) mod attribute;
pub(crate) mod blobs;
pub(crate) mod exposure;
pub(crate) mod history;
pub(crate) mod maps;
pub(crate) mod packs;
pub(crate) mod staged;
pub(crate) mod trees;
pub(crate) mod walk;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gix::ObjectId;

use crate::finding::CommitInfo;
use crate::paths::display_path;
use crate::scan::{Blob, Collector, Engine, Manifests};

/// What `pkscan git` was asked to do, beside the shared [`crate::Options`].
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// Where to start looking for the repository (upwards, as git does). Default: `.`.
    pub repo: PathBuf,
    /// Only the lines the staged change adds (index against `HEAD`).
    pub staged: bool,
    /// Only commits reachable from this revision, instead of every ref.
    pub branch: Option<String>,
    /// Only commits in `A..B` (reachable from B, not from A); an empty side means `HEAD`.
    pub range: Option<String>,
    /// Draw a progress bar on stderr (the caller decides: only when it is a terminal).
    pub progress: bool,
}

/// Runs `pkscan git` as asked: the staged change or the history. Returns what was found
/// and, for history, whether it is partial (a shallow clone).
pub(crate) fn scan(engine: &Engine<'_>, git: &GitOptions) -> Result<(Collector, Option<bool>)> {
    let repo = open(&git.repo)?;
    let excludes = crate::paths::build_excludes(&engine.opts.exclude)?;
    let threads = engine.opts.worker_threads();
    if git.staged {
        let mut sink = engine.sink();
        staged::scan(&blobs::handle(&repo), &mut sink, &excludes)?;
        let mut out = sink.into_collected();
        maps::resolve(&repo, true, &mut out, &engine.opts.limits, threads);
        return Ok((out, None));
    }
    let (mut out, partial) = history::scan(&repo, engine, git, &excludes)?;
    maps::resolve(&repo, false, &mut out, &engine.opts.limits, threads);
    Ok((out, Some(partial)))
}

/// Opens the repository that holds `dir`, searching upwards like git (and honouring
/// `GIT_DIR` and `GIT_INDEX_FILE`, as a hook needs). Not finding one is an error the
/// user can act on.
pub(crate) fn open(dir: &Path) -> Result<gix::ThreadSafeRepository> {
    let shown = display_path(dir);
    if !dir.exists() {
        bail!("cannot read {shown}: no such file or directory");
    }
    match gix::ThreadSafeRepository::discover_with_environment_overrides(dir) {
        Ok(repo) => Ok(repo),
        Err(gix::discover::Error::Discover(err)) => Err(anyhow::anyhow!(
            "{shown} is not in a git repository ({err}); run `pkscan git` inside one, \
             name one with `pkscan git PATH`, or use `pkscan scan` for plain files"
        )),
        Err(err) => Err(err).with_context(|| format!("cannot open the git repository at {shown}")),
    }
}

/// A repository path (`/`-separated bytes) as findings show it: invalid UTF-8 as `\xNN`.
pub(crate) fn path_text(path: &[u8]) -> String {
    crate::paths::display_bytes(path)
}

/// The blob description the engine scans a repository file under: every path is relative
/// to the repository root, which is also what fingerprints use.
/// `android_module` is what the blob's tree says of an `AndroidManifest.xml` above it
/// (`None`: not known, as no manifest).
pub(crate) fn blob_at(path: &str, android_module: Option<bool>) -> Blob {
    Blob {
        display: path.to_string(),
        root_relative: path.to_string(),
        traits_path: path.to_string(),
        manifests: Manifests::Known(android_module.unwrap_or(false)),
        ..Blob::default()
    }
}

/// Drops `value` on a thread of its own. A history's tables are hundreds of thousands of
/// small allocations: freed on the caller's thread they were the last hundredth of a scan,
/// spent after every result was known (and when the process ends first, never spent).
/// Dropped here if no thread can be started.
pub(crate) fn drop_aside<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new().name("drop".into()).spawn(move || drop(value));
}

/// Makes `blob` (made by [`blob_at`]) the description of the blob at `path`, reusing its
/// strings.
pub(crate) fn reuse_blob_at(blob: &mut Blob, path: &str, android_module: Option<bool>) {
    for text in [&mut blob.display, &mut blob.root_relative, &mut blob.traits_path] {
        text.clear();
        text.push_str(path);
    }
    blob.manifests = Manifests::Known(android_module.unwrap_or(false));
}

/// Whether a folder above `path` in `tree` (a commit's root tree) holds an
/// `AndroidManifest.xml`, directly or in `src/main/`. A tree that cannot be read has none.
pub(crate) fn has_android_manifest(repo: &gix::Repository, tree: ObjectId, path: &str) -> bool {
    let Ok(tree) = repo.find_tree(tree) else {
        return false;
    };
    crate::detect::asset::android_manifest_paths(path).any(|candidate| {
        matches!(tree.lookup_entry_by_path(&candidate), Ok(Some(entry)) if entry.mode().is_blob())
    })
}

/// Reads a commit's metadata for a finding's `commit` object.
pub(crate) fn commit_info(repo: &gix::Repository, id: ObjectId) -> Result<CommitInfo> {
    let commit = repo.find_commit(id).with_context(|| format!("cannot read commit {id}"))?;
    let decoded = commit.decode().with_context(|| format!("cannot decode commit {id}"))?;
    let author = decoded.author().with_context(|| format!("commit {id} has no valid author"))?;
    let time = author.time().with_context(|| format!("commit {id} has an invalid author date"))?;
    Ok(CommitInfo {
        id: id.to_string(),
        author_name: String::from_utf8_lossy(author.name).into_owned(),
        author_email: String::from_utf8_lossy(author.email).into_owned(),
        date: rfc3339(time.seconds, time.offset),
        summary: summary(decoded.message),
    })
}

/// Seconds since the epoch at a UTC offset (seconds east), as RFC 3339 with that offset.
fn rfc3339(seconds: i64, offset: i32) -> String {
    use time::format_description::well_known::Rfc3339;
    let offset = time::UtcOffset::from_whole_seconds(offset).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| t.to_offset(offset))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// git's `%s`: the message's first paragraph (leading blank lines skipped), its lines
/// stripped of trailing whitespace and joined by single spaces.
pub(crate) fn summary(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let lines = text.split('\n').map(str::trim_end).skip_while(|l| l.is_empty());
    lines.take_while(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The `git` program for the unit tests that build repositories, with no user or system
/// configuration and a fixed identity.
#[cfg(test)]
pub(crate) mod test_git {
    use std::path::Path;
    use std::process::Command;

    pub(crate) fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_the_first_paragraph_joined() {
        assert_eq!(summary(b"Add key\n\nbody\n"), "Add key");
        assert_eq!(summary(b"\n\nTwo\nlines  \n \nbody"), "Two lines");
        assert_eq!(summary(b"one"), "one");
        assert_eq!(summary(b""), "");
    }

    #[test]
    fn dates_keep_the_author_offset() {
        assert_eq!(rfc3339(1_546_300_800, 0), "2019-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_546_300_800, 3600), "2019-01-01T01:00:00+01:00");
        assert_eq!(rfc3339(1_546_300_800, -5 * 3600 - 1800), "2018-12-31T18:30:00-05:30");
    }
}
