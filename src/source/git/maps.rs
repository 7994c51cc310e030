//! Source maps in a repository: a finding in a committed bundle gains its `original`
//! position from the map its `sourceMappingURL` names beside it, read from the same tree
//! as the bundle (the finding's commit, or the index for `--staged`). A bundle committed
//! without its map (they are often ignored) is no error: it just has no `original`.

use gix::bstr::ByteSlice;
use gix::ObjectId;

use crate::decode::limits::Limits;
use crate::finding::Finding;
use crate::scan::Collector;
use crate::source::maps::{self, Files};

/// Where a repository's files are read from.
enum Tree {
    /// The tree of each finding's commit (history).
    Commits,
    /// The index (`--staged`: what will be committed).
    Index(gix::worktree::Index),
}

struct RepoFiles<'a> {
    repo: &'a gix::ThreadSafeRepository,
    tree: Tree,
    limits: &'a Limits,
}

impl RepoFiles<'_> {
    /// The blob at `path` in the tree this finding's file comes from, bounded by the member
    /// limit; `Ok(None)` when there is no such file.
    fn read(&self, commit: Option<&str>, path: &str) -> Result<Option<Vec<u8>>, String> {
        let repo = self.repo.to_thread_local();
        let id = match (&self.tree, commit) {
            (Tree::Commits, Some(commit)) => {
                let Ok(commit) = ObjectId::from_hex(commit.as_bytes()) else {
                    return Ok(None);
                };
                let cannot = |e: &dyn std::fmt::Display| {
                    format!("source map: cannot read commit {commit}: {e}")
                };
                let found = repo.find_commit(commit).map_err(|e| cannot(&e))?;
                let tree = found.tree().map_err(|e| cannot(&e))?;
                match tree.lookup_entry_by_path(path) {
                    Ok(Some(entry)) if entry.mode().is_blob() => entry.object_id(),
                    Ok(_) => return Ok(None),
                    Err(e) => return Err(format!("source map: cannot read its tree: {e}")),
                }
            }
            (Tree::Index(index), None) => match index.entry_by_path(path.as_bytes().as_bstr()) {
                Some(entry) => entry.id,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let size = repo.find_header(id).map_err(|e| format!("source map: {e}"))?.size();
        if size > self.limits.max_member_bytes {
            return Err(format!(
                "source map not read: larger than the member limit ({} bytes)",
                self.limits.max_member_bytes
            ));
        }
        let blob = repo.find_object(id).map_err(|e| format!("source map: {e}"))?;
        Ok(Some(blob.detach().data))
    }
}

impl Files for RepoFiles<'_> {
    fn finding_file(&self, commit: Option<&str>, path: &str) -> Option<Vec<u8>> {
        self.read(commit, path).ok().flatten()
    }

    fn map_file(&self, commit: Option<&str>, path: &str) -> Result<Option<Vec<u8>>, String> {
        self.read(commit, path)
    }
}

/// Gives the findings of committed (or staged) bundles their `original` position.
/// Findings in maps themselves were placed while their blob was scanned.
pub(crate) fn resolve(
    repo: &gix::ThreadSafeRepository,
    staged: bool,
    out: &mut Collector,
    limits: &Limits,
    threads: usize,
) {
    let is_bundle = |f: &Finding| f.original.is_none() && !f.path.ends_with(".map");
    if !out.findings.iter().any(is_bundle) {
        return;
    }
    let tree = if staged {
        match repo.to_thread_local().index_or_empty() {
            Ok(index) => Tree::Index(index),
            Err(_) => return, // reported by the staged scan, which read it first
        }
    } else {
        Tree::Commits
    };
    let files = RepoFiles { repo, tree, limits };
    maps::resolve_with(&files, &mut out.findings, &mut out.errors, threads, &is_bundle);
}
