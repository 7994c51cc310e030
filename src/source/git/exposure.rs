//! How each key sits in the history, for the report's `keys`: whether HEAD's tree holds
//! it, which refs' tip trees do, and which commit on HEAD's first-parent chain removed it.
//!
//! No second pass over history: a tree can only hold a key at a path where the walk saw a
//! flagged blob introduced, so a tree is asked only about those paths (a few tree reads
//! each), and only for ref tips, HEAD, and the first parents of the first-parent commits
//! whose recorded changes (introductions and the walk's `Change`s) touch one of those
//! paths. A clean history asks nothing. This module does not decide which commit
//! introduced a finding (`attribute` does); it only orders a key's introducing commits.

use std::collections::{HashMap, HashSet};

use gix::objs::Find;
use gix::ObjectId;

use super::attribute::{bare_info, is_ancestor};
use super::walk::{Commit, History};
use crate::finding::{CommitInfo, Exposure, Finding, Secret};
use crate::rules::KeyRule;
use crate::scan::Collector;

/// Keys (indices into a key table) held by each flagged blob.
pub(crate) type BlobKeys = HashMap<u32, Vec<u32>>;

/// The keys of every blob the scanners flagged, as indices into the returned table.
pub(crate) fn keys_by_blob(flagged: &[(u32, u32, Vec<Finding>)]) -> (Vec<Secret>, BlobKeys) {
    let mut table: Vec<Secret> = Vec::new();
    let mut index: HashMap<Secret, u32> = HashMap::new();
    let mut by_blob: BlobKeys = HashMap::new();
    for (blob, _, findings) in flagged {
        for finding in findings.iter().filter(|f| is_key(f)) {
            let key = *index.entry(finding.secret.clone()).or_insert_with(|| {
                table.push(finding.secret.clone());
                table.len() as u32 - 1
            });
            let keys = by_blob.entry(*blob).or_default();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    (table, by_blob)
}

fn is_key(finding: &Finding) -> bool {
    KeyRule::ALL.iter().any(|rule| rule.id() == finding.rule_id)
}

/// The exposure of every key in `table`, from the walked `history`, the flagged blobs'
/// keys and the attributed findings in `out` (for the introducing commits).
pub(crate) fn expose(
    repo: &gix::Repository,
    history: &History,
    (table, blob_keys): (Vec<Secret>, BlobKeys),
    out: &mut Collector,
) -> HashMap<Secret, Exposure> {
    let mut exposures: Vec<Exposure> = vec![Exposure::default(); table.len()];
    if table.is_empty() {
        return HashMap::new();
    }
    let mut trees = Trees::new(repo, history, &blob_keys);
    let head = repo.head_id().ok().map(|id| id.detach());
    if let Some(head) = head {
        for key in trees.keys_at_commit(head) {
            exposures[key as usize].in_head = true;
        }
        let gone: Vec<u32> =
            (0..table.len() as u32).filter(|k| !exposures[*k as usize].in_head).collect();
        for (key, commit) in removals(&mut trees, head, gone) {
            exposures[key as usize].removed = Some(info(repo, history, commit, out));
        }
    }
    for (name, tip) in ref_tips(repo) {
        for key in trees.keys_at_commit(tip) {
            exposures[key as usize].refs.push(name.clone());
        }
    }
    for exposure in &mut exposures {
        exposure.refs.sort();
        exposure.refs.dedup();
    }
    let introductions = introductions_by_key(history, &table, &out.findings);
    for (key, ids) in introductions {
        exposures[key as usize].introductions = ids;
    }
    out.errors.append(&mut trees.errors);
    table.into_iter().zip(exposures).collect()
}

/// Every ref (full name) whose target peels to a commit, with that commit.
fn ref_tips(repo: &gix::Repository) -> Vec<(String, ObjectId)> {
    let Ok(platform) = repo.references() else {
        return Vec::new();
    };
    let Ok(all) = platform.all() else {
        return Vec::new();
    };
    let mut tips = Vec::new();
    for reference in all.flatten() {
        let name = reference.name().as_bstr().to_string();
        let mut reference = reference;
        let Ok(id) = reference.peel_to_id() else {
            continue;
        };
        tips.push((name, id.detach()));
    }
    tips
}

/// For each key of `gone` (not in HEAD): the newest commit on HEAD's first-parent chain
/// whose tree lacks it while its first parent's tree holds it. Between two commits that
/// change a key's paths against their first parent, whether the tree holds it stays the
/// same, so only those commits' first parents are looked at.
fn removals(trees: &mut Trees<'_>, head: ObjectId, mut gone: Vec<u32>) -> Vec<(u32, u32)> {
    let history = trees.history;
    let index: HashMap<ObjectId, u32> =
        history.commits.iter().enumerate().map(|(i, c)| (c.id, i as u32)).collect();
    let touching = trees.commits_touching_key_paths();
    let mut found = Vec::new();
    let mut at = index.get(&head).copied();
    while let (Some(commit), false) = (at, gone.is_empty()) {
        let c: &Commit = &history.commits[commit as usize];
        if c.hidden {
            break;
        }
        let parent = c.parents.first().copied();
        if let (Some(parent), true) = (parent, touching.contains(&commit)) {
            let held = trees.keys_at_commit(history.commits[parent as usize].id);
            gone.retain(|key| {
                let removed_here = held.contains(key);
                if removed_here {
                    found.push((*key, commit));
                }
                !removed_here
            });
        }
        at = parent;
    }
    found
}

/// Per key, the commits of its attributed findings, best first: each one has none of the
/// remaining ones among its ancestors, then the earliest author date, then the lowest id.
fn introductions_by_key(
    history: &History,
    table: &[Secret],
    findings: &[Finding],
) -> Vec<(u32, Vec<String>)> {
    let index: HashMap<String, u32> =
        history.commits.iter().enumerate().map(|(i, c)| (c.id.to_string(), i as u32)).collect();
    let keys: HashMap<&Secret, u32> =
        table.iter().enumerate().map(|(i, s)| (s, i as u32)).collect();
    let mut commits: HashMap<u32, Vec<u32>> = HashMap::new();
    for finding in findings {
        let (Some(key), Some(commit)) =
            (keys.get(&finding.secret), finding.commit.as_ref().and_then(|c| index.get(&c.id)))
        else {
            continue;
        };
        let list = commits.entry(*key).or_default();
        if !list.contains(commit) {
            list.push(*commit);
        }
    }
    commits
        .into_iter()
        .map(|(key, remaining)| (key, best_first(&history.commits, remaining)))
        .collect()
}

fn best_first(commits: &[Commit], mut remaining: Vec<u32>) -> Vec<String> {
    let mut ordered = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let rank = |c: u32| (commits[c as usize].author_seconds, commits[c as usize].id);
        let minimal = remaining
            .iter()
            .copied()
            .filter(|&c| !remaining.iter().any(|&o| o != c && is_ancestor(commits, o, c)))
            .min_by_key(|&c| rank(c))
            .or_else(|| remaining.iter().copied().min_by_key(|&c| rank(c)))
            .expect("remaining is not empty");
        remaining.retain(|&c| c != minimal);
        ordered.push(commits[minimal as usize].id.to_string());
    }
    ordered
}

/// A commit's metadata, taken from a finding that already carries it when one does.
fn info(repo: &gix::Repository, history: &History, commit: u32, out: &mut Collector) -> CommitInfo {
    let id = history.commits[commit as usize].id;
    super::commit_info(repo, id).unwrap_or_else(|err| {
        out.error(format!("commit {id}"), format!("{err:#}"));
        bare_info(id)
    })
}

/// Asks trees which keys they hold, only at the paths where flagged blobs were introduced.
struct Trees<'a> {
    repo: &'a gix::Repository,
    history: &'a History,
    blob_keys: &'a BlobKeys,
    /// Flagged blobs by object id.
    flagged: HashMap<ObjectId, u32>,
    /// Paths (split into components) where a flagged blob was introduced, in the display
    /// form the walk records (`\xNN` for bytes that are not UTF-8).
    key_paths: Vec<(u32, Vec<String>)>,
    /// Entries of a tree by display name: (tree, name) -> [(id, is_tree)]. Keyed by the
    /// display form, not the raw bytes, as that is all the walk keeps of a path; a raw
    /// name and a literal `\xNN` name look the same, so a name may have two entries.
    entries: HashMap<ObjectId, HashMap<String, Vec<(ObjectId, bool)>>>,
    held: HashMap<ObjectId, Vec<u32>>,
    buf: Vec<u8>,
    errors: Vec<crate::finding::ScanError>,
}

impl<'a> Trees<'a> {
    fn new(repo: &'a gix::Repository, history: &'a History, blob_keys: &'a BlobKeys) -> Self {
        let flagged = blob_keys.keys().map(|&b| (history.blobs[b as usize], b)).collect();
        let mut paths: Vec<u32> = history
            .introductions
            .iter()
            .filter(|i| blob_keys.contains_key(&i.blob))
            .map(|i| i.path)
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let key_paths = paths
            .into_iter()
            .map(|p| {
                // Escaping is per byte and `/` is ASCII, so the display form of a path is
                // its components' display forms joined by `/`.
                let text = &history.paths[p as usize];
                (p, text.split('/').map(str::to_string).collect())
            })
            .collect();
        Trees {
            repo,
            history,
            blob_keys,
            flagged,
            key_paths,
            entries: HashMap::new(),
            held: HashMap::new(),
            buf: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Commits whose recorded changes against the first parent touch a key path (the path
    /// itself or a folder above it).
    fn commits_touching_key_paths(&self) -> HashSet<u32> {
        let mut prefixes: HashSet<&str> = HashSet::new();
        for (p, _) in &self.key_paths {
            let path = self.history.paths[*p as usize].as_str();
            prefixes.insert(path);
            prefixes.extend(path.match_indices('/').map(|(at, _)| &path[..at]));
        }
        let exact: HashSet<u32> = self.key_paths.iter().map(|(p, _)| *p).collect();
        let introduced = self.history.introductions.iter().filter(|i| exact.contains(&i.path));
        let changed = self
            .history
            .changes
            .iter()
            .filter(|c| prefixes.contains(self.history.paths[c.path as usize].as_str()));
        introduced.map(|i| i.commit).chain(changed.map(|c| c.commit)).collect()
    }

    /// The keys `commit`'s tree holds at the key paths.
    fn keys_at_commit(&mut self, commit: ObjectId) -> Vec<u32> {
        let tree = self
            .repo
            .find_commit(commit)
            .map_err(|err| err.to_string())
            .and_then(|c| c.tree_id().map(|id| id.detach()).map_err(|err| err.to_string()));
        let tree = match tree {
            Ok(tree) => tree,
            Err(err) => {
                let message = format!("cannot read its tree: {err}");
                self.errors
                    .push(crate::finding::ScanError::new(format!("commit {commit}"), message));
                return Vec::new();
            }
        };
        if let Some(held) = self.held.get(&tree) {
            return held.clone();
        }
        let mut held = Vec::new();
        for i in 0..self.key_paths.len() {
            for blob in self.blobs_at(tree, i) {
                let Some(index) = self.flagged.get(&blob) else {
                    continue;
                };
                for key in &self.blob_keys[index] {
                    if !held.contains(key) {
                        held.push(*key);
                    }
                }
            }
        }
        self.held.insert(tree, held.clone());
        held
    }

    /// The blobs at key path number `i` below `tree`: none, one, or (when raw and escaped
    /// names collide in display form) more.
    fn blobs_at(&mut self, tree: ObjectId, i: usize) -> Vec<ObjectId> {
        let components = self.key_paths[i].1.clone();
        let (mut level, mut blobs) = (vec![tree], Vec::new());
        for (depth, name) in components.iter().enumerate() {
            let last = depth + 1 == components.len();
            let mut next = Vec::new();
            for current in level {
                for (id, is_tree) in self.entries_named(current, name) {
                    match (last, is_tree) {
                        (true, false) => blobs.push(id),
                        (false, true) => next.push(id),
                        _ => {}
                    }
                }
            }
            level = next;
        }
        blobs
    }

    /// The entries of `tree` shown as `name`, reading and indexing the tree once.
    fn entries_named(&mut self, tree: ObjectId, name: &str) -> Vec<(ObjectId, bool)> {
        if !self.entries.contains_key(&tree) {
            let entries = self.read(tree).unwrap_or_else(|message| {
                self.errors.push(crate::finding::ScanError::new(format!("tree {tree}"), message));
                HashMap::new()
            });
            self.entries.insert(tree, entries);
        }
        self.entries[&tree].get(name).cloned().unwrap_or_default()
    }

    fn read(&mut self, tree: ObjectId) -> Result<HashMap<String, Vec<(ObjectId, bool)>>, String> {
        let data = match self.repo.objects.try_find(&tree, &mut self.buf) {
            Ok(Some(data)) if data.kind == gix::object::Kind::Tree => data,
            Ok(Some(data)) => return Err(format!("expected a tree, found a {}", data.kind)),
            Ok(None) => return Err("the tree object is missing".into()),
            Err(err) => return Err(format!("cannot read the tree object: {err}")),
        };
        let mut entries: HashMap<String, Vec<(ObjectId, bool)>> = HashMap::new();
        for entry in gix::objs::TreeRefIter::from_bytes(data.data, self.repo.object_hash()) {
            let entry = entry.map_err(|err| format!("corrupt tree object: {err}"))?;
            if entry.mode.is_tree() || entry.mode.is_blob() {
                let name = super::path_text(entry.filename);
                entries.entry(name).or_default().push((entry.oid.to_owned(), entry.mode.is_tree()));
            }
        }
        Ok(entries)
    }
}
