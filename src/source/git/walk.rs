//! One pass over the history: which commits to look at, and for each, the blobs it
//! introduces at each path (a blob at a path that differs from what every parent holds
//! there). Trees are diffed against the parents' trees and a subtree whose id matches a
//! parent's is skipped whole, so the cost follows what changed, not commits × tree size.
//! Blobs are interned as they are met so the scanner can start on each new one at once;
//! nothing here reads a blob.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Condvar, Mutex, PoisonError};

use gix::objs::tree::EntryRef;
use gix::objs::Find;
use gix::ObjectId;
use ignore::gitignore::Gitignore;

use super::trees::Trees;
use crate::detect::asset;
use crate::finding::ScanError;

/// A commit of the walk. `parents` index into [`History::commits`]; parents cut off by a
/// shallow clone are absent.
#[derive(Debug)]
pub(crate) struct Commit {
    pub id: ObjectId,
    pub tree: ObjectId,
    pub parents: Vec<u32>,
    pub author_seconds: i64,
    /// 1 for a root, else one more than the highest parent: an ancestor always has a
    /// lower generation, which bounds ancestry searches.
    pub generation: u32,
    /// Reachable from the excluded side of `--range`: compared against, never reported.
    pub hidden: bool,
}

/// `commit` holds `blob` at `path` while no parent holds that blob there, or, for Kotlin
/// and Java, while `commit` adds the `AndroidManifest.xml` of the file's module.
#[derive(Debug)]
pub(crate) struct Introduction {
    pub commit: u32,
    pub path: u32,
    pub blob: u32,
    /// What each parent holds at `path`, in parent order (`None`: no blob there).
    pub parent_blobs: Box<[Option<u32>]>,
}

/// `commit`'s tree differs from its first parent's at `path` (a file or a folder) in a way
/// no [`Introduction`] of `commit` records: the path was deleted, or (in a merge) it took
/// another parent's version. With the introductions, this is every change against the
/// first parent, which is what following HEAD's first-parent chain needs.
#[derive(Debug)]
pub(crate) struct Change {
    pub commit: u32,
    pub path: u32,
}

/// Everything the walk learned; blobs and paths are interned to indices.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub commits: Vec<Commit>,
    pub paths: Vec<String>,
    pub blobs: Vec<ObjectId>,
    /// Blob id to its index in `blobs`.
    pub blob_ids: gix::hashtable::HashMap<ObjectId, u32>,
    pub introductions: Vec<Introduction>,
    pub changes: Vec<Change>,
    /// Per blob: handed to the scanners (every blob some commit introduces is, once).
    pub sent: Vec<bool>,
    pub errors: Vec<ScanError>,
}

/// Interns paths and blobs as the diff meets them.
#[derive(Default)]
struct Tables {
    /// Hashed with rustc's Fx hash: the join of the diffs hashes every path it meets, and
    /// with the standard SipHash that was a tenth of the walk.
    paths: rustc_hash::FxHashMap<Vec<u8>, u32>,
}

/// Walks the commits reachable from `tips` but not from `hidden_tips`, then diffs each
/// one's tree against its parents' on `threads` threads (each with a clone of `repo`'s
/// handle, so with caches of its own), reading trees from `trees` when it holds them.
/// `on_commit` is called as each commit is diffed;
/// `on_new_blob(index, id, path, path_text)` once for each blob, at the first commit in
/// diff order that introduces it, whatever the thread count.
#[allow(clippy::too_many_arguments)] // what to walk, how, and two callbacks; a struct would only rename them
pub(crate) fn walk(
    repo: &gix::Repository,
    threads: usize,
    trees: &Trees,
    tips: &[ObjectId],
    hidden_tips: &[ObjectId],
    excludes: &Gitignore,
    on_commit: &(dyn Fn() + Sync),
    on_new_blob: &mut dyn FnMut(u32, ObjectId, u32, &str),
) -> History {
    let mut history = History::default();
    let shallow: HashSet<ObjectId> = repo
        .shallow_commits()
        .ok()
        .flatten()
        .map(|commits| commits.iter().copied().collect())
        .unwrap_or_default();
    collect_commits(repo, trees, hidden_tips, true, &shallow, &mut history);
    collect_commits(repo, trees, tips, false, &shallow, &mut history);
    assign_generations(&mut history.commits);

    let order: Vec<usize> = diff_order(repo, &history.commits)
        .into_iter()
        .filter(|&index| !history.commits[index].hidden)
        .collect();
    // Grown one path and one blob at a time, the join's tables rehashed every key several
    // times over; the tree pass knows about how many there will be.
    let mut tables = Tables::default();
    tables.paths.reserve(trees.blob_estimate());
    history.blob_ids.reserve(trees.blob_estimate());
    let commits = std::mem::take(&mut history.commits);
    diff_all(repo, threads, trees, excludes, &commits, &order, on_commit, &mut |index, diffed| {
        if let Some(err) = diffed.error {
            let id = commits[index].id;
            history.errors.push(ScanError::new(format!("commit {id}"), err));
        }
        for path in diffed.changed {
            let path = intern_path(&mut tables, &mut history.paths, path);
            history.changes.push(Change { commit: index as u32, path });
        }
        for (path, blob, parent_blobs) in diffed.found {
            let path = intern_path(&mut tables, &mut history.paths, path);
            let blob = intern_blob(&mut history.blob_ids, &mut history.blobs, blob);
            history.sent.resize(history.blobs.len(), false);
            if !history.sent[blob as usize] {
                history.sent[blob as usize] = true;
                let id = history.blobs[blob as usize];
                on_new_blob(blob, id, path, &history.paths[path as usize]);
            }
            let parent_blobs = parent_blobs
                .into_iter()
                .map(|b| b.map(|b| intern_blob(&mut history.blob_ids, &mut history.blobs, b)))
                .collect();
            history.introductions.push(Introduction {
                commit: index as u32,
                path,
                blob,
                parent_blobs,
            });
        }
    });
    history.commits = commits;
    // The path table: an allocation per path.
    super::drop_aside(tables);
    history
}

/// What diffing one commit against its parents found.
#[derive(Default)]
struct Diffed {
    found: Vec<Met>,
    changed: Vec<Vec<u8>>,
    error: Option<String>,
}

/// Diffs the commits of `order` on `threads` threads, each taking the next of a few
/// contiguous runs of `order` (contiguous, so that consecutive diffs still share trees and
/// delta bases in its caches), and hands what each commit's diff found to `on_diffed`, in
/// `order`, on the calling thread, as soon as the runs before it are done: the tables the
/// diffs are joined into grow while the next runs are diffed.
#[allow(clippy::too_many_arguments)] // as `walk`: what to diff, how, and the callbacks
fn diff_all(
    repo: &gix::Repository,
    threads: usize,
    trees: &Trees,
    excludes: &Gitignore,
    commits: &[Commit],
    order: &[usize],
    on_commit: &(dyn Fn() + Sync),
    on_diffed: &mut dyn FnMut(usize, Diffed),
) {
    let threads = threads.clamp(1, order.len().max(1));
    // Several runs per thread even out runs that cost more than others, and let the join
    // start early.
    let runs: Vec<&[usize]> = order.chunks(order.len().div_ceil(threads * 8).max(1)).collect();
    let next = AtomicUsize::new(0);
    let done: Vec<Mutex<Option<Vec<Diffed>>>> = runs.iter().map(|_| Mutex::default()).collect();
    let ready = Condvar::new();
    let work = |repo: gix::Repository| {
        let mut differ = Differ::new(&repo, trees, excludes);
        loop {
            let run = next.fetch_add(1, AtomicOrdering::Relaxed);
            let Some(&indices) = runs.get(run) else {
                break;
            };
            // Handed over even if a diff panics, so the join never waits for it; the scope
            // then passes the panic on.
            let mut finished = Finished { slot: &done[run], ready: &ready, diffed: Vec::new() };
            for &index in indices {
                on_commit();
                finished.diffed.push(diff_commit(&mut differ, excludes, &commits[index], commits));
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let repo = repo.clone();
            scope.spawn(move || work(repo));
        }
        for (run, slot) in runs.iter().zip(&done) {
            let mut taken = lock(slot);
            let diffed = loop {
                match taken.take() {
                    Some(diffed) => break diffed,
                    None => taken = ready.wait(taken).unwrap_or_else(PoisonError::into_inner),
                }
            };
            drop(taken);
            for (&index, diffed) in run.iter().zip(diffed) {
                on_diffed(index, diffed);
            }
        }
    });
}

/// A run's diffs, handed to the join when dropped.
struct Finished<'a> {
    slot: &'a Mutex<Option<Vec<Diffed>>>,
    ready: &'a Condvar,
    diffed: Vec<Diffed>,
}

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        *lock(self.slot) = Some(std::mem::take(&mut self.diffed));
        self.ready.notify_all();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Diffs `commit`'s tree against its parents' (see [`Differ::diff`] and
/// [`made_android`]).
fn diff_commit(
    differ: &mut Differ<'_>,
    excludes: &Gitignore,
    commit: &Commit,
    commits: &[Commit],
) -> Diffed {
    let olds: Vec<Option<ObjectId>> =
        commit.parents.iter().map(|&p| Some(commits[p as usize].tree)).collect();
    let tree = commit.tree;
    let mut diffed = Diffed::default();
    let found = &mut diffed.found;
    if let Err(err) = differ.diff(&tree, &olds, &mut |path, blob, parent_blobs| {
        found.push((path.to_vec(), blob, parent_blobs.to_vec()));
    }) {
        diffed.error = Some(err);
    }
    if !olds.is_empty() {
        let parent_trees: Vec<ObjectId> = olds.iter().flatten().copied().collect();
        let more = made_android(differ.repo, excludes, &tree, &parent_trees, &diffed.found);
        diffed.found.extend(more);
    }
    diffed.changed = std::mem::take(&mut differ.changed);
    diffed
}

/// A blob a commit introduces: its path, its id, what each parent holds at that path.
type Met = (Vec<u8>, ObjectId, Vec<Option<ObjectId>>);

/// The unchanged Kotlin and Java files of the modules whose `AndroidManifest.xml` this
/// commit (root tree `tree`) adds: their rule changes with it, so the commit re-introduces
/// them (with what each parent holds at their paths). Rare, so read through the object
/// database directly; a tree that cannot be read adds nothing.
fn made_android(
    repo: &gix::Repository,
    excludes: &Gitignore,
    tree: &ObjectId,
    parent_trees: &[ObjectId],
    found: &[Met],
) -> Vec<Met> {
    let mut more = Vec::new();
    let mut known: HashSet<Vec<u8>> = HashSet::new();
    for (path, _, parent_blobs) in found {
        // Every blob a commit brings passes here: its name is checked before its path is
        // made into text.
        let added = parent_blobs.iter().all(Option::is_none);
        if !added || !path.ends_with(asset::ANDROID_MANIFEST.as_bytes()) {
            continue;
        }
        let path = super::path_text(path);
        if !asset::is_android_manifest(&path) {
            continue;
        }
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let module =
            if dir == "src/main" { "" } else { dir.strip_suffix("/src/main").unwrap_or(dir) };
        if known.is_empty() {
            known.extend(found.iter().map(|met| met.0.clone()));
        }
        for (code, blob) in code_below(repo, excludes, tree, module) {
            if !known.insert(code.as_bytes().to_vec()) {
                continue;
            }
            let parents = parent_trees.iter().map(|t| blob_in(repo, t, &code)).collect();
            more.push((code.into_bytes(), blob, parents));
        }
    }
    more
}

/// Every Kotlin or Java blob below `dir` of the root tree `tree`, not excluded.
fn code_below(
    repo: &gix::Repository,
    excludes: &Gitignore,
    tree: &ObjectId,
    dir: &str,
) -> Vec<(String, ObjectId)> {
    let start = if dir.is_empty() {
        Some(*tree)
    } else {
        let root = repo.find_tree(*tree).ok();
        root.and_then(|t| t.lookup_entry_by_path(dir).ok().flatten())
            .filter(|e| e.mode().is_tree())
            .map(|e| e.object_id())
    };
    let mut code = Vec::new();
    let mut stack: Vec<(String, ObjectId)> =
        start.map(|id| (dir.to_string(), id)).into_iter().collect();
    while let Some((dir, id)) = stack.pop() {
        let Ok(tree) = repo.find_tree(id) else {
            continue;
        };
        for entry in tree.iter().flatten() {
            let name = super::path_text(entry.filename());
            let path = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            let is_tree = entry.mode().is_tree();
            if excludes.matched(std::path::Path::new(&path), is_tree).is_ignore() {
                continue;
            }
            if is_tree {
                stack.push((path, entry.object_id()));
            } else if entry.mode().is_blob() && asset::PathTraits::of(&path).maybe_android {
                code.push((path, entry.object_id()));
            }
        }
    }
    code
}

/// The blob at `path` in the root tree `tree`, if there is one.
fn blob_in(repo: &gix::Repository, tree: &ObjectId, path: &str) -> Option<ObjectId> {
    let entry = repo.find_tree(*tree).ok()?.lookup_entry_by_path(path).ok()??;
    entry.mode().is_blob().then(|| entry.object_id())
}

fn intern_path(tables: &mut Tables, paths: &mut Vec<String>, path: Vec<u8>) -> u32 {
    match tables.paths.entry(path) {
        Entry::Occupied(e) => *e.get(),
        Entry::Vacant(e) => {
            paths.push(super::path_text(e.key()));
            *e.insert(paths.len() as u32 - 1)
        }
    }
}

fn intern_blob(
    ids: &mut gix::hashtable::HashMap<ObjectId, u32>,
    blobs: &mut Vec<ObjectId>,
    id: ObjectId,
) -> u32 {
    *ids.entry(id).or_insert_with(|| {
        blobs.push(id);
        blobs.len() as u32 - 1
    })
}

/// Adds every commit reachable from `tips` that is not yet known, children before
/// parents (so consecutive diffs share trees in the object cache).
fn collect_commits(
    repo: &gix::Repository,
    trees: &Trees,
    tips: &[ObjectId],
    hidden: bool,
    shallow: &HashSet<ObjectId>,
    history: &mut History,
) {
    let mut index: HashMap<ObjectId, u32> =
        history.commits.iter().enumerate().map(|(i, c)| (c.id, i as u32)).collect();
    let mut parent_ids: Vec<Vec<ObjectId>> = history.commits.iter().map(|_| Vec::new()).collect();
    let first_new = history.commits.len();
    let mut stack: Vec<ObjectId> = tips.iter().rev().copied().collect();
    let mut buf = Vec::new();
    while let Some(id) = stack.pop() {
        if index.contains_key(&id) {
            continue;
        }
        let parsed = match read_commit(repo, trees, &id, &mut buf) {
            Ok(parsed) => parsed,
            Err(message) => {
                history.errors.push(ScanError::new(format!("commit {id}"), message));
                continue;
            }
        };
        let (tree, mut parents, author_seconds) = parsed;
        if shallow.contains(&id) {
            parents.clear();
        }
        stack.extend(parents.iter().rev().copied());
        index.insert(id, history.commits.len() as u32);
        history.commits.push(Commit {
            id,
            tree,
            parents: Vec::new(),
            author_seconds,
            generation: 0,
            hidden,
        });
        parent_ids.push(parents);
    }
    for (i, parents) in parent_ids.into_iter().enumerate().skip(first_new) {
        history.commits[i].parents = parents.iter().filter_map(|p| index.get(p).copied()).collect();
    }
}

/// Tree id, parent ids and author time of a commit, or why it cannot be read.
fn read_commit(
    repo: &gix::Repository,
    trees: &Trees,
    id: &ObjectId,
    buf: &mut Vec<u8>,
) -> Result<(ObjectId, Vec<ObjectId>, i64), String> {
    let held = trees.get(id, gix::object::Kind::Commit);
    let held =
        held.map(|data| gix::objs::Data::new(data, gix::object::Kind::Commit, repo.object_hash()));
    let data = match held.map_or_else(|| repo.objects.try_find(id, buf), |data| Ok(Some(data))) {
        Ok(Some(data)) => data,
        Ok(None) => return Err("the commit object is missing".into()),
        Err(err) => return Err(format!("cannot read the commit object: {err}")),
    };
    if data.kind != gix::object::Kind::Commit {
        return Err(format!("expected a commit, found a {}", data.kind));
    }
    let commit = gix::objs::CommitRef::from_bytes(data.data, repo.object_hash())
        .map_err(|err| format!("corrupt commit object: {err}"))?;
    let seconds = commit.author().map(|a| a.seconds()).unwrap_or_default();
    Ok((commit.tree(), commit.parents().collect(), seconds))
}

/// The order to diff commits in: a topological one, following the direction of the pack's
/// delta chains. The pack cache keeps only the objects asked for, not the bases passed on
/// the way, so reading a file's versions in chain order costs one delta each, while the
/// opposite order re-applies the whole chain (up to 50 deltas) for every version. `git gc`
/// makes newer versions the bases (walk children first); `git fast-import` and some
/// servers the older ones (walk parents first). A few commits' root trees tell which.
fn diff_order(repo: &gix::Repository, commits: &[Commit]) -> Vec<usize> {
    let deltas = |tree: &ObjectId| repo.find_header(*tree).ok().and_then(|h| h.num_deltas());
    let mut votes = 0i32;
    for commit in commits.iter().filter(|c| c.parents.len() == 1).take(32) {
        let parent = &commits[commit.parents[0] as usize];
        if let (Some(new), Some(old)) = (deltas(&commit.tree), deltas(&parent.tree)) {
            votes += (new > old) as i32 - (new < old) as i32;
        }
    }
    let mut order: Vec<usize> = (0..commits.len()).collect();
    if votes > 0 {
        order.sort_by_key(|&i| commits[i].generation);
    } else {
        order.sort_by_key(|&i| std::cmp::Reverse(commits[i].generation));
    }
    order
}

/// Generation numbers, computed parents first without recursion (histories are deep).
fn assign_generations(commits: &mut [Commit]) {
    let mut stack = Vec::new();
    for start in 0..commits.len() {
        if commits[start].generation != 0 {
            continue;
        }
        stack.push(start);
        while let Some(&top) = stack.last() {
            let mut pending = false;
            for &p in &commits[top].parents {
                if commits[p as usize].generation == 0 {
                    stack.push(p as usize);
                    pending = true;
                }
            }
            if !pending {
                stack.pop();
                let parents = &commits[top].parents;
                let highest =
                    parents.iter().map(|&p| commits[p as usize].generation).max().unwrap_or(0);
                commits[top].generation = highest + 1;
            }
        }
    }
}

/// Diffs trees, reusing buffers across calls.
struct Differ<'r> {
    repo: &'r gix::Repository,
    trees: &'r Trees,
    excludes: &'r Gitignore,
    pool: Vec<Vec<u8>>,
    path: Vec<u8>,
    /// Paths of the last diff that changed against the first parent without introducing
    /// anything (see [`Change`]); drained by the caller.
    changed: Vec<Vec<u8>>,
}

type Emit<'e> = dyn FnMut(&[u8], ObjectId, &[Option<ObjectId>]) + 'e;

impl<'r> Differ<'r> {
    fn new(repo: &'r gix::Repository, trees: &'r Trees, excludes: &'r Gitignore) -> Differ<'r> {
        Differ { repo, trees, excludes, pool: Vec::new(), path: Vec::new(), changed: Vec::new() }
    }

    /// Emits every blob path below `new` whose blob no tree of `olds` holds at that path.
    fn diff(
        &mut self,
        new: &ObjectId,
        olds: &[Option<ObjectId>],
        emit: &mut Emit<'_>,
    ) -> Result<(), String> {
        self.path.clear();
        self.diff_tree(new, olds, emit)
    }

    fn diff_tree(
        &mut self,
        new: &ObjectId,
        olds: &[Option<ObjectId>],
        emit: &mut Emit<'_>,
    ) -> Result<(), String> {
        let hash = self.repo.object_hash();
        let new_buf = self.read_tree(new)?;
        let mut old_bufs = Vec::with_capacity(olds.len());
        for old in olds {
            old_bufs.push(match old {
                Some(id) => Some(self.read_tree(id)?),
                None => None,
            });
        }
        let result = (|| {
            // Tree entries are sorted in git's order, so each parent's entry with the same
            // name and kind is found by walking both lists together.
            let mut old_trees: Vec<(Vec<EntryRef<'_>>, usize)> = Vec::with_capacity(olds.len());
            for buf in &old_bufs {
                let entries = match buf {
                    Some(buf) => gix::objs::TreeRefIter::from_bytes(buf, hash)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|err| format!("corrupt tree object: {err}"))?,
                    None => Vec::new(),
                };
                old_trees.push((entries, 0));
            }
            let mut sub_olds = Vec::with_capacity(olds.len());
            // Which of the first parent's entries this tree still has (by name and kind).
            let mut kept = vec![false; old_trees.first().map_or(0, |(entries, _)| entries.len())];
            for entry in gix::objs::TreeRefIter::from_bytes(&new_buf, hash) {
                let entry = entry.map_err(|err| format!("corrupt tree object {new}: {err}"))?;
                let is_tree = entry.mode.is_tree();
                sub_olds.clear();
                for (i, (entries, cursor)) in old_trees.iter_mut().enumerate() {
                    let old = matching(entries, cursor, &entry);
                    if i == 0 && old.is_some() {
                        kept[*cursor - 1] = true;
                    }
                    sub_olds.push(old.map(ObjectId::from));
                }
                if !is_tree && !entry.mode.is_blob() {
                    continue; // symlinks and submodules hold no file content
                }
                let is_same =
                    |old: &Option<ObjectId>| old.as_ref().map(|o| o.as_ref()) == Some(entry.oid);
                if sub_olds.iter().any(is_same) {
                    if sub_olds.first().is_some_and(|first| !is_same(first)) {
                        self.note_change(entry.filename, is_tree);
                    }
                    continue;
                }
                let depth = self.path.len();
                if depth > 0 {
                    self.path.push(b'/');
                }
                self.path.extend_from_slice(entry.filename);
                if !self.is_excluded(is_tree) {
                    if is_tree {
                        let olds = sub_olds.clone();
                        self.diff_tree(&entry.oid.to_owned(), &olds, emit)?;
                    } else {
                        emit(&self.path, entry.oid.to_owned(), &sub_olds);
                    }
                }
                self.path.truncate(depth);
            }
            if let Some((entries, _)) = old_trees.first() {
                for (old, _) in entries.iter().zip(&kept).filter(|(_, kept)| !**kept) {
                    if old.mode.is_tree() || old.mode.is_blob() {
                        self.note_change(old.filename, old.mode.is_tree());
                    }
                }
            }
            Ok(())
        })();
        self.recycle(new_buf);
        for buf in old_bufs.into_iter().flatten() {
            self.recycle(buf);
        }
        result
    }

    fn recycle(&mut self, buf: Cow<'r, [u8]>) {
        if let Cow::Owned(buf) = buf {
            self.pool.push(buf);
        }
    }

    /// Records that `name` below the current folder changed against the first parent.
    fn note_change(&mut self, name: &[u8], is_tree: bool) {
        let depth = self.path.len();
        if depth > 0 {
            self.path.push(b'/');
        }
        self.path.extend_from_slice(name);
        if !self.is_excluded(is_tree) {
            self.changed.push(self.path.clone());
        }
        self.path.truncate(depth);
    }

    /// The tree `id`: borrowed from the tree pass when it holds it, else read into a
    /// buffer of the pool.
    fn read_tree(&mut self, id: &ObjectId) -> Result<Cow<'r, [u8]>, String> {
        if let Some(bytes) = self.trees.get(id, gix::object::Kind::Tree) {
            return Ok(Cow::Borrowed(bytes));
        }
        let mut buf = self.pool.pop().unwrap_or_default();
        match self.repo.objects.try_find(id, &mut buf) {
            Ok(Some(data)) if data.kind == gix::object::Kind::Tree => {}
            Ok(Some(data)) => return Err(format!("expected tree {id}, found a {}", data.kind)),
            Ok(None) => return Err(format!("tree object {id} is missing")),
            Err(err) => return Err(format!("cannot read tree object {id}: {err}")),
        }
        Ok(Cow::Owned(buf))
    }

    fn is_excluded(&self, is_dir: bool) -> bool {
        if self.excludes.is_empty() {
            return false;
        }
        let path = super::path_text(&self.path);
        self.excludes.matched(std::path::Path::new(&path), is_dir).is_ignore()
    }
}

/// The entry of `entries` (from `*cursor` on) with `entry`'s name and kind, if any; moves
/// the cursor past everything that sorts before it. Blobs and executables match each other;
/// a tree only a tree; symlinks and submodules nothing.
fn matching<'a>(
    entries: &[EntryRef<'a>],
    cursor: &mut usize,
    entry: &EntryRef<'_>,
) -> Option<&'a gix::hash::oid> {
    while let Some(old) = entries.get(*cursor) {
        match git_order(old, entry) {
            Ordering::Less => *cursor += 1,
            Ordering::Equal => {
                *cursor += 1;
                let same_kind = if entry.mode.is_tree() {
                    old.mode.is_tree()
                } else {
                    old.mode.is_blob() && entry.mode.is_blob()
                };
                return same_kind.then_some(old.oid);
            }
            Ordering::Greater => return None,
        }
    }
    None
}

/// git's tree order: names compared bytewise, a tree's name as if it ended in `/`.
fn git_order(a: &EntryRef<'_>, b: &EntryRef<'_>) -> Ordering {
    let (x, y): (&[u8], &[u8]) = (a.filename, b.filename);
    let common = x.len().min(y.len());
    x[..common].cmp(&y[..common]).then_with(|| {
        let tail = |name: &[u8], e: &EntryRef<'_>| {
            name.get(common).copied().unwrap_or(if e.mode.is_tree() { b'/' } else { 0 })
        };
        tail(x, a).cmp(&tail(y, b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gix::objs::tree::EntryKind;

    fn entry<'a>(name: &'a str, kind: EntryKind, oid: &'a gix::hash::oid) -> EntryRef<'a> {
        EntryRef { mode: kind.into(), filename: name.into(), oid }
    }

    #[test]
    fn trees_sort_as_if_their_names_ended_in_a_slash() {
        let id = ObjectId::null(gix::hash::Kind::Sha1);
        let dir = entry("a", EntryKind::Tree, &id);
        let file = entry("a.txt", EntryKind::Blob, &id);
        let plain = entry("a", EntryKind::Blob, &id);
        assert_eq!(git_order(&file, &dir), Ordering::Less, "'.' sorts before '/'");
        assert_eq!(git_order(&plain, &file), Ordering::Less);
        assert_eq!(git_order(&plain, &dir), Ordering::Less, "a file and a folder never match");
        assert_eq!(git_order(&dir, &entry("a", EntryKind::Tree, &id)), Ordering::Equal);
    }

    #[test]
    fn matching_pairs_entries_by_name_and_kind() {
        let (x, y) =
            (ObjectId::null(gix::hash::Kind::Sha1), ObjectId::empty_tree(gix::hash::Kind::Sha1));
        let old = vec![
            entry("a.txt", EntryKind::Blob, &x),
            entry("b", EntryKind::Tree, &x),
            entry("c", EntryKind::Link, &x),
            entry("d", EntryKind::BlobExecutable, &x),
        ];
        let mut cursor = 0;
        let found = |name, kind, cursor: &mut usize| {
            matching(&old, cursor, &entry(name, kind, &y)).map(ToOwned::to_owned)
        };
        assert_eq!(found("a.txt", EntryKind::Blob, &mut cursor), Some(x));
        assert_eq!(found("b", EntryKind::Blob, &mut cursor), None, "folder became a file");
        assert_eq!(found("c", EntryKind::Blob, &mut cursor), None, "symlink became a file");
        assert_eq!(found("d", EntryKind::Blob, &mut cursor), Some(x), "mode change only");
        assert_eq!(found("e", EntryKind::Blob, &mut cursor), None);
    }
}
