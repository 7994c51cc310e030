//! The fast path of the history scan: each pack of the repository (and of its alternates)
//! decoded object by object, every object exactly once, each delta base before its deltas,
//! through gitoxide's delta tree (the traversal of `git index-pack` and `gix verify`), over
//! the worker threads. A blob the walk selected is scanned as soon as it is produced, under
//! the path the walk first met it at; everything else decoded on the way (commits, trees,
//! bases, blobs of commits outside `--branch`/`--range`) is dropped unscanned. Over the
//! whole history the trees and commits are left out: the tree pass (`super::trees`) has
//! decoded them already, and hands over the rest of each pack's entries ([`prepare`]).
//!
//! A base is held only while its deltas are applied: per thread, at most one object per
//! level of the delta chain being resolved, so the peak is bounded by the threads times
//! the longest chain times its largest object, whatever the size of the pack.
//!
//! This module reports nothing of its own: a blob it did not scan (a loose object, a pack
//! that cannot be opened or decoded, a thin pack) is left unclaimed, and the per-object
//! path in [`super::blobs`] reads it and reports whatever goes wrong, as before.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use gix::odb::pack;
use gix::ObjectId;

use super::blobs::{scan_blob, Counters, Reuse, Scanned};
use crate::scan::Engine;

/// An index entry's data in the delta tree: no blob to scan.
const UNWANTED: u32 = u32::MAX;

/// The blobs to scan and who has scanned them.
pub(crate) struct Wanted<'h> {
    /// Blob id to blob index, for the blobs the walk met (those no selected commit
    /// introduces are claimed from the start).
    pub ids: &'h gix::hashtable::HashMap<ObjectId, u32>,
    /// Per blob index: the path index it is scanned under.
    pub paths: &'h [u32],
    /// Path texts, by path index.
    pub path_texts: &'h [String],
    /// Per blob index: already scanned (by a pack, or to be by the per-object path).
    pub claimed: Vec<AtomicBool>,
}

/// Scans every wanted blob found in the packs of `objects_dir` and its alternates; the
/// scanned ones are marked in `wanted.claimed`. `prepared`: the packs' delta trees, built
/// by [`prepare`] while the walk ran; without them each pack's tree is built here.
pub(crate) fn scan(
    objects_dir: &Path,
    hash: gix::hash::Kind,
    engine: &Engine<'_>,
    wanted: &Wanted<'_>,
    threads: usize,
    counters: &Counters,
    prepared: Option<Vec<Prepared>>,
) -> Scanned {
    let results = Mutex::new(Scanned::default());
    let shared = Shared { engine, wanted, counters, results: &results };
    let all_claimed = || wanted.claimed.iter().all(|c| c.load(Ordering::Relaxed));
    match prepared {
        Some(packs) => {
            for pack in packs {
                if all_claimed() {
                    break;
                }
                // A pack that cannot be traversed leaves its blobs to the per-object path.
                let _ = scan_prepared(pack, hash, &shared, threads);
            }
        }
        None => {
            for index_path in pack_indices(objects_dir) {
                if all_claimed() {
                    break;
                }
                let _ = scan_pack(&index_path, hash, &shared, threads);
            }
        }
    }
    results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A pack's delta tree over the entries that may be blobs (see [`prepare`]), each tagged
/// with its index position, built before anyone knows which blobs are wanted: reading
/// the pack's entry headers for it is serial, and a whole-history scan runs it beside the
/// tree pass and the walk instead of after them.
pub(crate) struct Prepared {
    index_path: PathBuf,
    index: pack::index::File,
    tree: pack::cache::delta::Tree<(u64, u32)>,
}

/// A pack's entries for [`prepare`], sent as they are found, in offset order.
pub(crate) enum Others {
    Entries(Vec<(u64, u32)>),
    /// Every entry was sent.
    End,
}

/// The delta tree of the pack indexed at `index_path`, over the entries `others` yields
/// (offset, index position, in offset order; they must hold the pack's first entry and the
/// base of each delta among them), or over all of the pack's entries if `others` is `None`,
/// ends before [`Others::End`], or does not make a tree (a delta across kinds). `None` when
/// the pack cannot be read.
pub(crate) fn prepare(
    index_path: PathBuf,
    hash: gix::hash::Kind,
    others: Option<crossbeam_channel::Receiver<Others>>,
) -> Option<Prepared> {
    let index = pack::index::File::at(&index_path, hash).ok()?;
    let pack_path = index_path.with_extension("pack");
    let streamed = others.and_then(|others| {
        let mut ended = false;
        let entries = others
            .iter()
            .map_while(|message| match message {
                Others::Entries(batch) => Some(batch),
                Others::End => {
                    ended = true;
                    None
                }
            })
            .flatten();
        let tree = delta_tree_sorted(&index, &pack_path, hash, entries).ok();
        tree.filter(|_| ended)
    });
    let all = || entries_by_offset(&index).into_iter();
    let tree = streamed.or_else(|| delta_tree_sorted(&index, &pack_path, hash, all()).ok())?;
    Some(Prepared { index_path, index, tree })
}

fn scan_prepared(
    pack: Prepared,
    hash: gix::hash::Kind,
    shared: &Shared<'_>,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let Prepared { index_path, index, tree } = pack;
    let blob_at = blob_positions(&index, shared.wanted, threads);
    let wanted = blob_at.iter().filter(|&&blob| blob != UNWANTED).count();
    if !worth_traversing(wanted, blob_at.len()) {
        return Ok(());
    }
    let mut inspector = Inspector::new(shared);
    let inspect = move |position: u32, object: &pack::cache::delta::traverse::Context<'_>| {
        let blob = blob_at.get(position as usize).copied().unwrap_or(UNWANTED);
        inspector.inspect(blob, object);
    };
    let data = pack::data::File::at(index_path.with_extension("pack"), hash)?;
    let end = data.pack_end() as u64;
    traverse_tree(tree, hash, (from_map, &data, end), inspect, threads)
}

/// Per position of `index`: the index of the blob stored there if it is wanted and not
/// yet scanned, else [`UNWANTED`]. One hash lookup per object of the pack, split over
/// `threads` threads: done serially it was a pause between the walk and the traversal.
fn blob_positions(index: &pack::index::File, wanted: &Wanted<'_>, threads: usize) -> Vec<u32> {
    let mut blob_at = vec![UNWANTED; index.num_objects() as usize];
    let chunk = blob_at.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        for (part, slots) in blob_at.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                for (i, slot) in slots.iter_mut().enumerate() {
                    let oid = index.oid_at_index((part * chunk + i) as u32);
                    if let Some(&blob) = wanted.ids.get(oid) {
                        if !wanted.claimed[blob as usize].load(Ordering::Relaxed) {
                            *slot = blob;
                        }
                    }
                }
            });
        }
    });
    blob_at
}

/// Every entry of the pack indexed by `index`: its offset and its position in the index,
/// in offset order (the order of the pack, and of a delta tree's input).
pub(super) fn entries_by_offset(index: &pack::index::File) -> Vec<(u64, u32)> {
    let mut entries: Vec<(u64, u32)> =
        index.iter().enumerate().map(|(i, e)| (e.pack_offset, i as u32)).collect();
    entries.sort_unstable_by_key(|&(offset, _)| offset);
    entries
}

/// The `.idx` files of the object directory and of every alternate, in a stable order.
pub(super) fn pack_indices(objects_dir: &Path) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut dirs = vec![objects_dir.to_path_buf()];
    dirs.extend(gix::odb::alternate::resolve(objects_dir.to_path_buf(), &cwd).unwrap_or_default());
    let mut indices = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("pack")) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "idx"))
            .collect();
        found.sort();
        indices.extend(found);
    }
    indices
}

/// Whether decoding a whole pack of `objects` pays for the `wanted` blobs in it. Read one
/// by one, a blob costs its delta chain, a whole traversal one inflation per object: a
/// history scan wants a large share of a pack's objects (a fifth to two thirds), a
/// `--range` of a pull request a handful, which the per-object path reads in
/// milliseconds.
fn worth_traversing(wanted: usize, objects: usize) -> bool {
    wanted > 0 && wanted.saturating_mul(16) >= objects
}

/// What every traversal thread shares.
struct Shared<'a> {
    engine: &'a Engine<'a>,
    wanted: &'a Wanted<'a>,
    counters: &'a Counters,
    results: &'a Mutex<Scanned>,
}

/// One pack's traversal; an error means some of its blobs may be left unclaimed.
fn scan_pack(
    index_path: &Path,
    hash: gix::hash::Kind,
    shared: &Shared<'_>,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let index = pack::index::File::at(index_path, hash)?;
    let entries: Vec<(u64, u32)> = index
        .iter()
        .map(|e| (e.pack_offset, shared.wanted.ids.get(&e.oid).copied().unwrap_or(UNWANTED)))
        .collect();
    let wanted = entries.iter().filter(|&&(_, blob)| blob != UNWANTED).count();
    if !worth_traversing(wanted, entries.len()) {
        return Ok(());
    }
    let mut inspector = Inspector::new(shared);
    let inspect = move |blob: u32, object: &pack::cache::delta::traverse::Context<'_>| {
        inspector.inspect(blob, object);
    };
    traverse(&index, &index_path.with_extension("pack"), hash, entries, inspect, threads)
}

/// Decodes the `entries` (offset, tag) of the pack at `pack_path`, every object once,
/// bases before deltas, over `threads` threads, handing each to a clone of `inspect` with
/// its entry's tag. The entries must hold the base of each delta among them. The entries'
/// bytes are read through a memory map of the pack.
pub(super) fn traverse(
    index: &pack::index::File,
    pack_path: &Path,
    hash: gix::hash::Kind,
    entries: Vec<(u64, u32)>,
    inspect: impl FnMut(u32, &pack::cache::delta::traverse::Context<'_>) + Clone + Send,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let data = pack::data::File::at(pack_path, hash)?;
    let end = data.pack_end() as u64;
    traverse_from(index, pack_path, hash, entries, (from_map, &data, end), inspect, threads)
}

fn from_map(range: std::ops::Range<u64>, data: &pack::data::File) -> Option<&[u8]> {
    data.entry_slice(range)
}

/// [`traverse`], with the entries' bytes from `source`: a function from a pack range (an
/// entry's start to the next entry's; a prefix that holds the whole entry will do) to its
/// bytes in the data it is given, that data, and where the pack's entries end.
pub(super) fn traverse_from<R: Send + Sync>(
    index: &pack::index::File,
    pack_path: &Path,
    hash: gix::hash::Kind,
    entries: Vec<(u64, u32)>,
    source: (
        impl for<'r> Fn(std::ops::Range<u64>, &'r R) -> Option<&'r [u8]> + Send + Clone,
        &R,
        u64,
    ),
    inspect: impl FnMut(u32, &pack::cache::delta::traverse::Context<'_>) + Clone + Send,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let tree = delta_tree(index, pack_path, hash, entries)?;
    traverse_tree(tree, hash, source, inspect, threads)
}

/// The delta tree of the `entries` (offset, tag) of the pack at `pack_path`: which entry is
/// the base of which. Reads the entries' headers, front to back.
fn delta_tree(
    index: &pack::index::File,
    pack_path: &Path,
    hash: gix::hash::Kind,
    mut entries: Vec<(u64, u32)>,
) -> Result<pack::cache::delta::Tree<(u64, u32)>, Box<dyn std::error::Error>> {
    entries.sort_unstable_by_key(|&(offset, _)| offset);
    delta_tree_sorted(index, pack_path, hash, entries.into_iter())
}

/// [`delta_tree`] of entries that come in offset order, each once (gitoxide panics on any
/// other order).
fn delta_tree_sorted(
    index: &pack::index::File,
    pack_path: &Path,
    hash: gix::hash::Kind,
    entries: impl Iterator<Item = (u64, u32)>,
) -> Result<pack::cache::delta::Tree<(u64, u32)>, Box<dyn std::error::Error>> {
    let mut previous = None;
    // Checked here rather than left to gitoxide's assertion.
    let mut in_order = true;
    let entries = entries.take_while(|&(offset, _)| {
        in_order = previous.is_none_or(|previous| previous < offset);
        previous = Some(offset);
        in_order
    });
    let interrupt = AtomicBool::new(false);
    let tree = pack::cache::delta::Tree::from_offsets_in_pack(
        pack_path,
        entries,
        &|&(offset, _)| offset,
        &|id| index.lookup(id).map(|i| index.pack_offset_at_index(i)),
        &mut gix::progress::Discard,
        &interrupt,
        hash,
    )?;
    if !in_order {
        return Err("pack entries out of offset order".into());
    }
    Ok(tree)
}

/// Decodes every entry of `tree`, bases before deltas, over `threads` threads, handing
/// each object to a clone of `inspect` with its entry's tag; the entries' bytes come from
/// `source` (see [`traverse_from`]).
fn traverse_tree<R: Send + Sync>(
    tree: pack::cache::delta::Tree<(u64, u32)>,
    hash: gix::hash::Kind,
    source: (
        impl for<'r> Fn(std::ops::Range<u64>, &'r R) -> Option<&'r [u8]> + Send + Clone,
        &R,
        u64,
    ),
    mut inspect: impl FnMut(u32, &pack::cache::delta::traverse::Context<'_>) + Clone + Send,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let interrupt = AtomicBool::new(false);
    let inspect = move |&mut (_, tag): &mut (u64, u32),
                        _: &dyn gix::progress::Progress,
                        object: pack::cache::delta::traverse::Context<'_>| {
        inspect(tag, &object);
        Ok::<(), std::convert::Infallible>(())
    };
    let (resolve, data, end) = source;
    let outcome = tree.traverse(
        resolve,
        data,
        end,
        inspect,
        pack::cache::delta::traverse::Options {
            object_progress: Box::new(gix::progress::Discard),
            size_progress: &mut gix::progress::Discard,
            thread_limit: Some(threads.max(1)),
            should_interrupt: &interrupt,
            object_hash: hash,
            alloc_limit_bytes: None,
        },
    )?;
    // The delta tree: an allocation per entry.
    super::drop_aside(outcome);
    Ok(())
}

/// A traversal thread's scanner: it keeps its own results and hands them over when the
/// thread is done with it (on drop), so no lock is taken per object.
struct Inspector<'a> {
    shared: &'a Shared<'a>,
    local: Scanned,
    reuse: Reuse,
    /// The blobs scanned here, claimed when the pack is done.
    claims: Vec<u32>,
}

impl<'a> Inspector<'a> {
    fn new(shared: &'a Shared<'a>) -> Self {
        Inspector { shared, local: Scanned::default(), reuse: Reuse::default(), claims: Vec::new() }
    }
}

impl Clone for Inspector<'_> {
    fn clone(&self) -> Self {
        Inspector::new(self.shared)
    }
}

impl Drop for Inspector<'_> {
    fn drop(&mut self) {
        // The pack's traversal is over: its blobs are claimed for the packs after it.
        for blob in self.claims.drain(..) {
            self.shared.wanted.claimed[blob as usize].store(true, Ordering::Relaxed);
        }
        let local = std::mem::take(&mut self.local);
        let mut results = self.shared.results.lock().unwrap_or_else(|e| e.into_inner());
        results.merge(local);
    }
}

impl Inspector<'_> {
    fn inspect(&mut self, blob: u32, object: &pack::cache::delta::traverse::Context<'_>) {
        if blob == UNWANTED || object.entry.header.as_kind() != Some(gix::object::Kind::Blob) {
            return; // not a blob under the wanted id: the per-object path says what it is
        }
        let wanted = self.shared.wanted;
        // Only read while the pack is traversed (an id is in a pack's index once), so the
        // threads never write each other's cache lines blob by blob.
        if wanted.claimed[blob as usize].load(Ordering::Relaxed) {
            return; // also in an earlier pack, and scanned there
        }
        self.claims.push(blob);
        let path = wanted.paths[blob as usize];
        let path_text = &wanted.path_texts[path as usize];
        let (engine, reuse) = (self.shared.engine, &mut self.reuse);
        self.local.scan(blob, path, path_text, self.shared.counters, |out| {
            scan_blob(engine, object.decompressed, path_text, None, reuse, out)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;
    use crate::source::git::test_git::git;
    use crate::source::git::walk;

    #[test]
    fn a_pack_is_traversed_for_a_history_not_for_a_handful_of_blobs() {
        assert!(worth_traversing(25_714, 132_618), "the large-files history");
        assert!(worth_traversing(1, 16));
        assert!(!worth_traversing(3, 137_017), "a pull request's range");
        assert!(!worth_traversing(0, 10));
    }

    #[test]
    fn every_selected_blob_of_a_pack_is_scanned_there_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir.path();
        git(dir, &["init", "-q", "-b", "main"]);
        // A synthetic key, built here so no line of this file holds one.
        let hex: String = (0..34).map(|i| b"0123456789abcdef"[(i * 7 + 3) % 16] as char).collect();
        let mut text = String::new();
        for version in 0..12 {
            text.push_str(&format!("line {version} of a file that grows a line per commit\n"));
            let key_line =
                if version >= 5 { format!("KEY = \"pk_{hex}\"\n") } else { String::new() };
            std::fs::write(dir.join("app.py"), format!("{key_line}{text}")).expect("write");
            git(dir, &["add", "-A"]);
            git(dir, &["commit", "-q", "-m", "edit"]);
        }
        git(dir, &["repack", "-q", "-a", "-d", "-f", "--depth=50"]);
        git(dir, &["prune-packed"]);

        let repo = gix::ThreadSafeRepository::open(dir).expect("a repository");
        let local = repo.to_thread_local();
        let head = local.head_id().expect("a head").detach();
        let excludes = ignore::gitignore::Gitignore::empty();
        let mut first_paths = Vec::new();
        let history = walk::walk(
            &local,
            2,
            &Default::default(),
            &[head],
            &[],
            &excludes,
            &|| {},
            &mut |b, _, p, _| {
                first_paths.resize(first_paths.len().max(b as usize + 1), u32::MAX);
                first_paths[b as usize] = p;
            },
        );
        assert_eq!(history.blobs.len(), 12);
        let opts = Options::default();
        // With each pack's delta tree built here, and built beforehand (`prepare`): over
        // all entries, over entries streamed to it in order, and over a stream cut short
        // (which falls back to all entries).
        let hash = local.object_hash();
        let build = |ended: bool| {
            let build_one = |index_path: PathBuf| {
                let index = pack::index::File::at(&index_path, hash).expect("an index");
                let all = entries_by_offset(&index);
                let (send, receive) = crossbeam_channel::unbounded();
                let half = all.len() / 2;
                send.send(Others::Entries(all[..half].to_vec())).expect("open");
                if ended {
                    send.send(Others::Entries(all[half..].to_vec())).expect("open");
                    send.send(Others::End).expect("open");
                }
                drop(send);
                prepare(index_path, hash, Some(receive))
            };
            pack_indices(repo.objects_dir()).into_iter().filter_map(build_one).collect()
        };
        let built: Vec<Prepared> = pack_indices(repo.objects_dir())
            .into_iter()
            .filter_map(|index_path| prepare(index_path, hash, None))
            .collect();
        for prepared in [None, Some(built), Some(build(true)), Some(build(false))] {
            let built_before = prepared.is_some();
            // The walk also interns the blobs parents held; only the first 12 were sent.
            let wanted = Wanted {
                ids: &history.blob_ids,
                paths: &first_paths,
                path_texts: &history.paths,
                claimed: history.blobs.iter().map(|_| AtomicBool::new(false)).collect(),
            };
            let counters = Counters::default();
            let scanned = scan(
                repo.objects_dir(),
                local.object_hash(),
                &Engine::new(&opts),
                &wanted,
                2,
                &counters,
                prepared,
            );

            let claimed = wanted.claimed.iter().all(|c| c.load(Ordering::Relaxed));
            assert!(claimed, "all read from the pack (tree built before: {built_before})");
            assert_eq!(scanned.out.files_scanned, 12);
            assert!(scanned.out.errors.is_empty(), "{:?}", scanned.out.errors);
            assert_eq!(scanned.flagged.len(), 7, "versions 5 to 11 hold the key");
            assert!(scanned.flagged.iter().all(|(_, _, findings)| findings.len() == 1));
        }
    }
}
