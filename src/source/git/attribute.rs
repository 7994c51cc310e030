//! Attribution: each (rule, path, key) once, at the commit that introduced it. A commit
//! introduces it when its tree yields it at that path and none of its parents' trees do;
//! of several such commits, those with no other one among their ancestors are kept, then
//! the earliest author date, then the lowest id (ancestry first, never date alone).
//!
//! Only blobs the scanners flagged are looked at here, so this costs next to nothing on a
//! clean history. A parent's blob the scanners never saw (outside `--range`) is read now.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;

use super::blobs::{scan_one, Scanned};
use super::walk::{Commit, History};
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
        cache.findings.insert((blob, path), findings);
    }
    let mut candidates: HashMap<(String, u32, String), Vec<(u32, Finding)>> = HashMap::new();
    for intro in &history.introductions {
        if !cache.flagged.contains(&intro.blob) {
            continue;
        }
        let mut parent_yields: HashSet<Yield> = HashSet::new();
        for parent_blob in intro.parent_blobs.iter().flatten() {
            let path = &history.paths[intro.path as usize];
            let found = cache.get(history, *parent_blob, intro.path, path, out);
            parent_yields.extend(found.iter().map(yield_of));
        }
        let path = &history.paths[intro.path as usize];
        let found = cache.get(history, intro.blob, intro.path, path, out);
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

fn bare_info(id: ObjectId) -> CommitInfo {
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
    findings: HashMap<(u32, u32), Vec<Finding>>,
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
            buf: Vec::new(),
            empty: Vec::new(),
        }
    }

    /// The blob's findings at `path`. A blob the scanners read and did not flag has none,
    /// at any path: which keys a blob holds does not depend on its path, only their rule.
    fn get(
        &mut self,
        history: &History,
        blob: u32,
        path_id: u32,
        path: &str,
        out: &mut Collector,
    ) -> &[Finding] {
        let was_scanned = self.sent.get(blob as usize).copied().unwrap_or(false);
        if was_scanned && !self.flagged.contains(&blob) {
            return &self.empty;
        }
        if !self.findings.contains_key(&(blob, path_id)) {
            let mut fresh = Collector::default();
            let id = history.blobs[blob as usize];
            scan_one(self.repo, self.engine, &id, path, &mut self.buf, &mut fresh);
            if !was_scanned {
                // A blob outside the scanned range: its errors are real, its bytes are not
                // part of this history's count.
                out.errors.extend(fresh.errors);
            }
            self.findings.insert((blob, path_id), fresh.findings);
        }
        &self.findings[&(blob, path_id)]
    }
}
