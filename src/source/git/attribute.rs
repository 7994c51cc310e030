//! Attribution: each (rule, path, key) once, at the commit that introduced it. A commit
//! introduces it when its tree yields it at that path and none of its parents' trees do;
//! of several such commits, those with no other one among their ancestors are kept, then
//! the earliest author date, then the lowest id (ancestry first, never date alone).
//!
//! Only blobs the scanners flagged are looked at here, so this costs next to nothing on a
//! clean history. A parent's blob the scanners never saw (outside `--range`) is read now.
//!
//! A Kotlin or Java file's rule depends on its commit's tree (an `AndroidManifest.xml`
//! above it), so its findings are cached per (blob, path, manifest or not). A commit that
//! adds a module's manifest re-introduces the module's code (`walk`); one that removes it
//! does not, so a key there keeps the app-code rule it had.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;

use super::blobs::{scan_one, Scanned};
use super::walk::{Commit, History};
use crate::detect::asset::PathTraits;
use crate::finding::{CommitInfo, Finding};
use crate::scan::{Collector, Engine};

/// (rule id, key): what a tree "yields" at a path, beside the path itself.
type Yield = (String, String);

/// Turns the flagged blobs into one finding per (rule, path, key), each with its commit.
pub(crate) fn attribute(
    repo: &gix::Repository,
    engine: &Engine<'_>,
    history: &History,
    scanned: Scanned,
    out: &mut Collector,
) {
    let mut cache = FindingCache::new(repo, engine, &history.sent);
    for (blob, path, findings) in scanned.flagged {
        cache.flagged.insert(blob);
        // Scanned without its tree: right for every path whose rule does not depend on one.
        cache.findings.insert((blob, path, None), findings);
    }
    let mut candidates: HashMap<(String, u32, String), Vec<(u32, Finding)>> = HashMap::new();
    for intro in &history.introductions {
        if !cache.flagged.contains(&intro.blob) {
            continue;
        }
        let commit = &history.commits[intro.commit as usize];
        let mut parent_yields: HashSet<Yield> = HashSet::new();
        for (parent, parent_blob) in commit.parents.iter().zip(intro.parent_blobs.iter()) {
            let Some(parent_blob) = parent_blob else {
                continue;
            };
            let tree = history.commits[*parent as usize].tree;
            let found = cache.get(history, *parent_blob, intro.path, tree, out);
            parent_yields.extend(found.iter().map(yield_of));
        }
        let found = cache.get(history, intro.blob, intro.path, commit.tree, out);
        let mut seen: HashSet<Yield> = HashSet::new();
        for finding in found {
            let key = yield_of(finding);
            if parent_yields.contains(&key) || !seen.insert(key.clone()) {
                continue;
            }
            candidates
                .entry((key.0, intro.path, key.1))
                .or_default()
                .push((intro.commit, finding.clone()));
        }
    }
    let mut infos: HashMap<u32, CommitInfo> = HashMap::new();
    for (_, introducers) in candidates {
        let (commit, mut finding) = choose(&history.commits, introducers);
        let info = infos.entry(commit).or_insert_with(|| {
            let id = history.commits[commit as usize].id;
            super::commit_info(repo, id).unwrap_or_else(|err| {
                out.error(format!("commit {id}"), format!("{err:#}"));
                bare_info(id)
            })
        });
        finding.commit = Some(info.clone());
        out.findings.push(finding);
    }
}

fn yield_of(finding: &Finding) -> Yield {
    (finding.rule_id.clone(), finding.secret.expose().to_string())
}

/// A commit known only by its id (its metadata could not be read).
pub(super) fn bare_info(id: ObjectId) -> CommitInfo {
    CommitInfo {
        id: id.to_string(),
        author_name: String::new(),
        author_email: String::new(),
        date: String::new(),
        summary: String::new(),
    }
}

/// Of the commits that introduced one (rule, path, key): those with no other among their
/// ancestors, then the earliest author date, then the lowest id.
fn choose(commits: &[Commit], mut introducers: Vec<(u32, Finding)>) -> (u32, Finding) {
    introducers.sort_by_key(|(c, _)| *c);
    introducers.dedup_by_key(|(c, _)| *c);
    let ids: Vec<u32> = introducers.iter().map(|(c, _)| *c).collect();
    let earliest = |(c, _): &(u32, Finding)| {
        let commit = &commits[*c as usize];
        (commit.author_seconds, commit.id)
    };
    let minimal = introducers
        .iter()
        .filter(|(c, _)| !ids.iter().any(|&other| other != *c && is_ancestor(commits, other, *c)))
        .min_by_key(|i| earliest(i))
        .cloned();
    match minimal {
        Some(chosen) => chosen,
        // Unreachable in a history without cycles; fall back to the date order.
        None => introducers.into_iter().min_by_key(earliest).expect("at least one introducer"),
    }
}

/// Whether `ancestor` is reachable from `descendant` through parents (and differs from it).
pub(crate) fn is_ancestor(commits: &[Commit], ancestor: u32, descendant: u32) -> bool {
    let floor = commits[ancestor as usize].generation;
    if floor >= commits[descendant as usize].generation {
        return false;
    }
    let mut seen = HashSet::new();
    let mut stack = vec![descendant];
    while let Some(c) = stack.pop() {
        for &p in &commits[c as usize].parents {
            if p == ancestor {
                return true;
            }
            if commits[p as usize].generation > floor && seen.insert(p) {
                stack.push(p);
            }
        }
    }
    false
}

/// Findings of a blob at a path, computed at most once each.
struct FindingCache<'a> {
    repo: &'a gix::Repository,
    engine: &'a Engine<'a>,
    /// Blobs the scanners read (whether or not they found anything).
    sent: &'a [bool],
    flagged: HashSet<u32>,
    /// By (blob, path, has a manifest above it: `None` where the rule cannot depend on it).
    findings: HashMap<(u32, u32, Option<bool>), Vec<Finding>>,
    /// By (root tree, path): is there an `AndroidManifest.xml` above the path?
    manifests: HashMap<(ObjectId, u32), bool>,
    buf: Vec<u8>,
    empty: Vec<Finding>,
}

impl<'a> FindingCache<'a> {
    fn new(repo: &'a gix::Repository, engine: &'a Engine<'a>, sent: &'a [bool]) -> Self {
        FindingCache {
            repo,
            engine,
            sent,
            flagged: HashSet::new(),
            findings: HashMap::new(),
            manifests: HashMap::new(),
            buf: Vec::new(),
            empty: Vec::new(),
        }
    }

    /// The blob's findings at path `path_id` of the commit whose root tree is `tree`. A blob
    /// the scanners read and did not flag has none, at any path: which keys a blob holds
    /// does not depend on its path or tree, only their rule. The rule depends on the path,
    /// and for Kotlin and Java on whether the tree has an `AndroidManifest.xml` above it.
    fn get(
        &mut self,
        history: &History,
        blob: u32,
        path_id: u32,
        tree: ObjectId,
        out: &mut Collector,
    ) -> &[Finding] {
        let was_scanned = self.sent.get(blob as usize).copied().unwrap_or(false);
        if was_scanned && !self.flagged.contains(&blob) {
            return &self.empty;
        }
        let path = &history.paths[path_id as usize];
        let android = PathTraits::of(path).maybe_android.then(|| {
            *self
                .manifests
                .entry((tree, path_id))
                .or_insert_with(|| super::has_android_manifest(self.repo, tree, path))
        });
        let key = (blob, path_id, android);
        if !self.findings.contains_key(&key) {
            let mut fresh = Collector::default();
            let id = history.blobs[blob as usize];
            scan_one(self.repo, self.engine, &id, path, android, &mut self.buf, &mut fresh);
            if !was_scanned {
                // A blob outside the scanned range: its errors are real, its bytes are not
                // part of this history's count.
                out.errors.extend(fresh.errors);
            }
            self.findings.insert(key, fresh.findings);
        }
        &self.findings[&key]
    }
}
