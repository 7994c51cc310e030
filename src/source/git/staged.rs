//! `pkscan git --staged`: the lines the staged change adds, for a pre-commit hook. Reads
//! the index, `HEAD`'s tree and the blobs of the changed files only; never the history,
//! never the work tree (unstaged edits are not what will be committed).
//!
//! Each changed file is scanned whole (a key's rule depends on its surroundings), and a
//! finding is kept only when its line is one the change adds, by a line diff against
//! the file in `HEAD` (on an unborn branch, every staged line is added).

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context, Result};
use gix::bstr::{BString, ByteSlice};
use gix::objs::Find;
use gix::ObjectId;
use ignore::gitignore::Gitignore;
use imara_diff::{Algorithm, Diff, InternedInput};

use crate::detect::asset;
use crate::paths::display_path;
use crate::scan::{Blob, Sink};

/// Scans what the index adds on top of `HEAD`.
pub(crate) fn scan(
    repo: &gix::Repository,
    sink: &mut Sink<'_>,
    excludes: &Gitignore,
) -> Result<()> {
    if repo.is_bare() {
        bail!(
            "{} is a bare repository: it has no index, so nothing is staged; \
             scan its history with `pkscan git` instead",
            display_path(repo.git_dir())
        );
    }
    let index = repo.index_or_empty().context("cannot read the git index")?;
    let head = head_blobs(repo)?;
    // What will be committed is the index, so a module's manifest is looked up there.
    let manifests: HashSet<String> = index
        .entries()
        .iter()
        .map(|entry| super::path_text(entry.path(&index)))
        .filter(|path| asset::is_android_manifest(path))
        .collect();
    let mut buf = Vec::new();
    let mut old_buf = Vec::new();
    for entry in index.entries() {
        let is_file = entry.mode == gix::index::entry::Mode::FILE
            || entry.mode == gix::index::entry::Mode::FILE_EXECUTABLE;
        if !is_file || entry.stage_raw() != 0 {
            continue; // symlinks, submodules, and conflicts (which cannot be committed)
        }
        let path = entry.path(&index);
        let old = head.get(path.as_bytes());
        if old == Some(&entry.id) {
            continue;
        }
        let path_text = super::path_text(path);
        if !excludes.is_empty()
            && excludes.matched_path_or_any_parents(&path_text, false).is_ignore()
        {
            continue;
        }
        let old_bytes = match old {
            Some(id) => match read_blob(repo, id, &mut old_buf) {
                Ok(()) => Some(old_buf.as_slice()),
                Err(message) => {
                    sink.out.error(&path_text, message);
                    continue;
                }
            },
            None => None,
        };
        if let Err(message) = read_blob(repo, &entry.id, &mut buf) {
            sink.out.error(&path_text, message);
            continue;
        }
        let android = asset::PathTraits::of(&path_text).maybe_android.then(|| {
            asset::android_manifest_paths(&path_text).any(|path| manifests.contains(&path))
        });
        let blob = super::blob_at(&path_text, android);
        if crate::source::guard::guarded(|| scan_added(sink, &blob, old_bytes, &buf)).is_none() {
            sink.out.error(&path_text, crate::source::guard::INTERNAL_ERROR);
        }
    }
    Ok(())
}

/// Scans `new` as `blob` and keeps the findings on lines it adds to `old`.
fn scan_added(sink: &mut Sink<'_>, blob: &Blob, old: Option<&[u8]>, new: &[u8]) {
    let path = &blob.display;
    let size = new.len() as u64;
    if let Some(max) = sink.opts().max_file_size.filter(|&max| size > max) {
        let message = format!("skipped: {size} bytes is over --max-file-size ({max} bytes)");
        sink.out.error(path, message);
        return;
    }
    let before = sink.out.findings.len();
    sink.bytes(new, blob);
    let out = &mut sink.out;
    out.files_scanned += 1;
    out.bytes_scanned += size;
    let Some(old) = old else {
        return;
    };
    if out.findings.len() == before {
        return; // the common case: no key at all, no diff needed
    }
    let added = added_lines(old, new);
    let is_added = |line: u64| added.get(line.saturating_sub(1) as usize).copied().unwrap_or(false);
    let found = out.findings.split_off(before);
    out.findings.extend(found.into_iter().filter(|f| (f.line..=f.end_line).any(is_added)));
}

/// For each line of `new` (0-based), whether the diff from `old` adds it.
fn added_lines(old: &[u8], new: &[u8]) -> Vec<bool> {
    let input = InternedInput::new(old, new);
    let diff = Diff::compute(Algorithm::Histogram, &input);
    (0..input.after.len() as u32).map(|line| diff.is_added(line)).collect()
}

fn read_blob(repo: &gix::Repository, id: &ObjectId, buf: &mut Vec<u8>) -> Result<(), String> {
    match repo.objects.try_find(id, buf) {
        Ok(Some(data)) if data.kind == gix::object::Kind::Blob => Ok(()),
        Ok(Some(data)) => Err(format!("object {id}: expected a blob, found a {}", data.kind)),
        Ok(None) => Err(format!("blob {id} is missing from the repository")),
        Err(err) => Err(format!("cannot read blob {id}: {err}")),
    }
}

/// Every regular file of `HEAD`'s tree, by path; empty on an unborn branch.
fn head_blobs(repo: &gix::Repository) -> Result<HashMap<BString, ObjectId>> {
    let mut blobs = HashMap::new();
    let tree = match repo.head_tree_id_or_empty() {
        Ok(id) => id.detach(),
        Err(err) => return Err(err).context("cannot resolve HEAD"),
    };
    let hash = repo.object_hash();
    let mut stack = vec![(BString::default(), tree)];
    let mut buf = Vec::new();
    while let Some((prefix, id)) = stack.pop() {
        let data = match repo.objects.try_find(&id, &mut buf) {
            Ok(Some(data)) => data,
            Ok(None) if id == ObjectId::empty_tree(hash) => continue,
            _ => bail!("cannot read tree {id} of HEAD"),
        };
        for entry in gix::objs::TreeRefIter::from_bytes(data.data, hash) {
            let entry = entry.with_context(|| format!("corrupt tree {id} in HEAD"))?;
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(entry.filename);
            if entry.mode.is_tree() {
                stack.push((path, entry.oid.to_owned()));
            } else if entry.mode.is_blob() {
                blobs.insert(path, entry.oid.to_owned());
            }
        }
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_follow_the_diff() {
        let added = added_lines(b"a\nb\nc\n", b"a\nx\nb\nc\ny\n");
        assert_eq!(added, vec![false, true, false, false, true]);
        assert_eq!(added_lines(b"", b"k\n"), vec![true]);
        assert_eq!(added_lines(b"k\n", b"k\nk\n"), vec![false, true]);
    }
}
