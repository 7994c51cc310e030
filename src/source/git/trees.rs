//! The trees and commits of a whole-history scan, decoded from the packs once, before the
//! walk, and held in memory while it runs. Read one at a time through the object database,
//! a tree costs its delta chain whenever the caches have let its base go, and the walk
//! reads each tree twice (as a commit's and as its child's parent tree): on histories of
//! few files edited often, that re-inflation was most of the walk. Here each pack's tree
//! and commit entries alone (told apart by the entry headers, without inflating anything)
//! go through the same delta-tree traversal as the blobs, on the worker threads, each
//! object inflated once.
//!
//! Memory: the objects' bytes, at most [`MAX_BYTES`] (past that, objects are left to the
//! object database), in 8 MiB arenas freed whole when the walk is done, before the blobs
//! are decoded; and the compressed entries being decoded, at most [`MAX_STORED_BYTES`] a
//! pack (the rest of its trees are read as before), copied out of a map of the pack that
//! is dropped before they are decoded (trees are spread over the whole pack: kept mapped,
//! its pages would count in the peak beside the blob traversal's own map of it). This is a
//! cache: an object it does not hold (loose, in a pack that could not be read, over the
//! cap) is read as before, and nothing here reports an error.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use gix::objs::Kind;
use gix::odb::pack;
use gix::ObjectId;

use super::packs;

/// Decoded bytes held at most.
const MAX_BYTES: u64 = 128 << 20;
/// Stored (compressed) bytes of a pack's tree and commit entries read at most: past that,
/// the rest of the pack's trees are left to the object database.
const MAX_STORED_BYTES: usize = 128 << 20;
/// A pack entry: its offset and its position in the pack's index.
type Entry = (u64, u32);

/// Entries handed to the others' delta tree at a time.
const OTHERS_BATCH: usize = 4096;

/// Size of one arena; a larger object gets an arena of its own.
const ARENA_BYTES: usize = 8 << 20;

/// Trees and commits by id, their bytes in arenas.
#[derive(Default)]
pub(crate) struct Trees {
    spans: gix::hashtable::HashMap<ObjectId, Span>,
    arenas: Vec<Vec<u8>>,
    /// How many entries of the packs were not trees or commits: about as many as there
    /// are blobs, and files.
    others: usize,
}

/// Where an object's bytes are: arena, start, length; and its kind.
#[derive(Clone, Copy)]
struct Span {
    arena: u32,
    start: u32,
    len: u32,
    kind: Kind,
}

impl Trees {
    /// About how many blobs (and paths) the history has, from the packs' entries; 0 when
    /// no pack was read.
    pub(crate) fn blob_estimate(&self) -> usize {
        self.others
    }

    /// The bytes of the object `id` if it is held and of `kind`.
    pub(crate) fn get(&self, id: &gix::oid, kind: Kind) -> Option<&[u8]> {
        let span = self.spans.get(id).filter(|span| span.kind == kind)?;
        let start = span.start as usize;
        self.arenas.get(span.arena as usize)?.get(start..start + span.len as usize)
    }

    /// Every tree and commit of the packs of `objects_dir` and its alternates, decoded on
    /// `threads` threads, up to [`MAX_BYTES`]. `others(index_path, entries)` is called for
    /// each pack, in [`packs::pack_indices`] order, before its entry headers are read;
    /// `entries` then yields, in offset order and as they are read, the (offset, index
    /// position) of the pack's entries that are neither trees nor commits (blobs, tags,
    /// deltas on them, the pack's first entry, and any entry whose kind was not learnt),
    /// and ends with [`packs::Others::End`] once all of them were sent (not when the pack
    /// could not be read).
    pub(crate) fn from_packs(
        objects_dir: &Path,
        hash: gix::hash::Kind,
        threads: usize,
        others: &mut dyn FnMut(PathBuf, crossbeam_channel::Receiver<packs::Others>),
    ) -> Trees {
        let mut trees = Trees::default();
        let held = AtomicU64::new(0);
        for index_path in packs::pack_indices(objects_dir) {
            // Unbounded: the reader may stop taking entries (a delta tree it cannot build).
            let (send, receive) = crossbeam_channel::unbounded();
            others(index_path.clone(), receive);
            // A pack that cannot be read leaves its objects to the object database.
            let _ = trees.add_pack(&index_path, hash, threads, &held, &send);
        }
        trees
    }

    fn add_pack(
        &mut self,
        index_path: &Path,
        hash: gix::hash::Kind,
        threads: usize,
        held: &AtomicU64,
        others: &crossbeam_channel::Sender<packs::Others>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let index = pack::index::File::at(index_path, hash)?;
        let pack_path = index_path.with_extension("pack");
        // The others go out in batches while the pack is read: their delta tree is built
        // beside this serial read rather than after it.
        let mut send = |batch: &[Entry]| {
            let _ = others.send(packs::Others::Entries(batch.to_vec()));
        };
        let mut entries = Entries::read(&index, &pack_path, hash, MAX_STORED_BYTES, &mut send)?;
        let _ = others.send(packs::Others::End);
        self.others += entries.others.len();
        entries.others = Vec::new();
        let found = Mutex::new(Vec::new());
        let mut collector =
            Collector { held, found: &found, arenas: Vec::new(), spans: Vec::new() };
        let keep = move |position: u32, object: &pack::cache::delta::traverse::Context<'_>| {
            collector.keep(position, object);
        };
        let tagged = entries.tagged.clone();
        let source = (Entries::slice, &entries, entries.end);
        packs::traverse_from(&index, &pack_path, hash, tagged, source, keep, threads)?;
        let found = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (arenas, spans) in found {
            let first = self.arenas.len() as u32;
            self.arenas.extend(arenas);
            for (position, mut span) in spans {
                span.arena += first;
                self.spans.insert(index.oid_at_index(position).to_owned(), span);
            }
        }
        Ok(())
    }
}

/// The entries of one pack that hold a tree or a commit, or a delta whose chain ends at
/// one (git never makes a delta across kinds), with their stored bytes.
struct Entries {
    /// (offset, index position), in offset order. The pack's first entry is always among
    /// them: gitoxide's delta tree reads the first entry it is given from the start of the
    /// pack.
    tagged: Vec<Entry>,
    /// Per entry of `tagged`: where its stored bytes are in `bytes`.
    spans: Vec<std::ops::Range<usize>>,
    bytes: Vec<u8>,
    /// Where the pack's entries end.
    end: u64,
    /// (offset, index position) of the entries that are not known to be a tree or a
    /// commit, and of the pack's first entry: what a traversal of the blobs needs.
    others: Vec<Entry>,
}

impl Entries {
    /// Reads the pack at `pack_path` once, front to back, through a map dropped before
    /// this returns (a ref-delta whose base comes later counts as neither tree nor commit),
    /// until the entries kept hold `max_stored` bytes. A delta's base lies before it (an
    /// offset delta) or is not kept (a later ref-delta base), so a prefix of the pack is
    /// complete. Mapped rather than read: this pass is serial, and a reader copied the
    /// whole pack twice (into its buffer, then each entry out of it) to parse the headers.
    ///
    /// `sent` is handed the others as they are found, in batches, all of them by the time
    /// this returns `Ok`.
    fn read(
        index: &pack::index::File,
        pack_path: &Path,
        hash: gix::hash::Kind,
        max_stored: usize,
        sent: &mut dyn FnMut(&[Entry]),
    ) -> std::io::Result<Entries> {
        let invalid = || std::io::Error::from(std::io::ErrorKind::InvalidData);
        let all = packs::entries_by_offset(index);
        let data = pack::data::File::at(pack_path, hash).map_err(std::io::Error::other)?;
        let end = data.pack_end() as u64;
        let mut kinds: Vec<Option<Kind>> = Vec::with_capacity(all.len());
        let mut entries = Entries {
            tagged: Vec::new(),
            spans: Vec::new(),
            bytes: Vec::new(),
            end,
            others: vec![],
        };
        // Bases, later in the pack, of ref-deltas whose kind was not known: wanted among the
        // others whatever their kind, so the deltas on them can be resolved.
        let mut later_bases = std::collections::HashSet::new();
        let mut flushed = 0;
        for (i, &(offset, position)) in all.iter().enumerate() {
            let next = all.get(i + 1).map_or(end, |&(next, _)| next);
            let entry_bytes = data.entry_slice(offset..next).ok_or_else(invalid)?;
            let entry =
                pack::data::Entry::from_bytes(entry_bytes, offset, hash).map_err(|_| invalid())?;
            let kind_at = |base: u64| {
                all[..kinds.len()]
                    .binary_search_by_key(&base, |&(offset, _)| offset)
                    .ok()
                    .and_then(|i| kinds[i])
            };
            use pack::data::entry::Header;
            let kind = match entry.header {
                Header::Tree => Some(Kind::Tree),
                Header::Commit => Some(Kind::Commit),
                Header::OfsDelta { base_distance } => {
                    offset.checked_sub(base_distance).and_then(kind_at)
                }
                Header::RefDelta { base_id } => {
                    let base = index.lookup(base_id).map(|i| index.pack_offset_at_index(i));
                    if base.is_some_and(|base| base > offset) {
                        later_bases.extend(base);
                    }
                    base.and_then(kind_at)
                }
                Header::Blob | Header::Tag => None,
            };
            kinds.push(kind);
            if kind.is_some() && entries.bytes.len() + entry_bytes.len() > max_stored {
                // What follows is not known: all of it is the others'.
                entries.others.extend_from_slice(&all[i..]);
                break;
            }
            if entries.others.len() >= flushed + OTHERS_BATCH {
                sent(&entries.others[flushed..]);
                flushed = entries.others.len();
            }
            if kind.is_none() || i == 0 || later_bases.contains(&offset) {
                entries.others.push((offset, position));
            }
            if kind.is_some() || i == 0 {
                let start = entries.bytes.len();
                entries.bytes.extend_from_slice(entry_bytes);
                entries.spans.push(start..entries.bytes.len());
                entries.tagged.push((offset, position));
            }
        }
        sent(&entries.others[flushed..]);
        Ok(entries)
    }

    /// The stored bytes of the entry at `range.start`.
    fn slice(range: std::ops::Range<u64>, entries: &Entries) -> Option<&[u8]> {
        let i = entries.tagged.binary_search_by_key(&range.start, |&(offset, _)| offset).ok()?;
        entries.bytes.get(entries.spans[i].clone())
    }
}

/// Arenas and (index position, span) of the objects one thread decoded.
type Found = (Vec<Vec<u8>>, Vec<(u32, Span)>);

/// A traversal thread's store of the trees and commits it decodes, handed over on drop.
struct Collector<'a> {
    held: &'a AtomicU64,
    found: &'a Mutex<Vec<Found>>,
    arenas: Vec<Vec<u8>>,
    spans: Vec<(u32, Span)>,
}

impl Clone for Collector<'_> {
    fn clone(&self) -> Self {
        Collector { held: self.held, found: self.found, arenas: Vec::new(), spans: Vec::new() }
    }
}

impl Drop for Collector<'_> {
    fn drop(&mut self) {
        let found = (std::mem::take(&mut self.arenas), std::mem::take(&mut self.spans));
        self.found.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(found);
    }
}

impl Collector<'_> {
    fn keep(&mut self, position: u32, object: &pack::cache::delta::traverse::Context<'_>) {
        let bytes = object.decompressed;
        let Some(kind @ (Kind::Tree | Kind::Commit)) = object.entry.header.as_kind() else {
            return;
        };
        if u32::try_from(bytes.len()).is_err()
            || self.held.fetch_add(bytes.len() as u64, Ordering::Relaxed) + bytes.len() as u64
                > MAX_BYTES
        {
            return;
        }
        let fits = self.arenas.last().is_some_and(|a| a.capacity() - a.len() >= bytes.len());
        if !fits {
            // Exactly sized and never grown: each arena is one mapping, returned when freed.
            self.arenas.push(Vec::with_capacity(bytes.len().max(ARENA_BYTES)));
        }
        let arena = self.arenas.len() - 1;
        let store = &mut self.arenas[arena];
        let start = store.len();
        store.extend_from_slice(bytes);
        let span = Span { arena: arena as u32, start: start as u32, len: bytes.len() as u32, kind };
        self.spans.push((position, span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::test_git::git;

    #[test]
    fn a_pack_read_up_to_its_bound_holds_a_complete_prefix() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir.path();
        git(dir, &["init", "-q", "-b", "main"]);
        for version in 0..30 {
            let folder = dir.join(format!("d{}", version % 3));
            std::fs::create_dir_all(&folder).expect("mkdir");
            std::fs::write(folder.join(format!("f{version}")), "x").expect("write");
            git(dir, &["add", "-A"]);
            git(dir, &["commit", "-q", "-m", "edit"]);
        }
        git(dir, &["repack", "-adq", "--depth=50"]);
        let repo = gix::open(dir).expect("a repository");
        let hash = repo.object_hash();
        let index_path =
            packs::pack_indices(repo.objects.store_ref().path()).pop().expect("one pack");
        let index = pack::index::File::at(&index_path, hash).expect("its index");
        let pack_path = index_path.with_extension("pack");
        let mut streamed = Vec::new();
        let mut stream = |batch: &[Entry]| streamed.extend_from_slice(batch);
        let whole = Entries::read(&index, &pack_path, hash, usize::MAX, &mut stream).expect("read");
        assert_eq!(streamed, whole.others, "the others are handed on as they are read");
        let bound = whole.bytes.len() / 2;
        let part = Entries::read(&index, &pack_path, hash, bound, &mut |_| {}).expect("read");
        assert!(part.bytes.len() <= bound && part.tagged.len() < whole.tagged.len());
        assert_eq!(part.tagged[..], whole.tagged[..part.tagged.len()]);
        // Every entry is held or left to the blobs' traversal, and only blobs are left
        // there when the whole pack was read (and the first entry, which it starts from).
        for read in [&whole, &part] {
            let mut seen: Vec<u32> =
                read.tagged.iter().chain(&read.others).map(|&(_, position)| position).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len() as u32, index.num_objects());
        }
        let first = whole.others[0];
        assert_eq!(first.0, 12, "the first entry, after the pack header");
        for &(_, position) in &whole.others[1..] {
            let id = index.oid_at_index(position).to_owned();
            let kind = repo.find_header(id).expect("in the repository").kind();
            assert_eq!(kind, Kind::Blob);
        }
        // What a bounded read holds decodes to the objects themselves.
        let found = Mutex::new(Vec::new());
        let held = AtomicU64::new(0);
        let mut collector =
            Collector { held: &held, found: &found, arenas: Vec::new(), spans: Vec::new() };
        let keep = move |position: u32, object: &pack::cache::delta::traverse::Context<'_>| {
            collector.keep(position, object);
        };
        let source = (Entries::slice, &part, part.end);
        packs::traverse_from(&index, &pack_path, hash, part.tagged.clone(), source, keep, 2)
            .expect("a complete prefix traverses");
        let mut checked = 0;
        for (arenas, spans) in found.into_inner().expect("no panic") {
            for (position, span) in spans {
                let at = span.start as usize;
                let bytes = &arenas[span.arena as usize][at..at + span.len as usize];
                let id = index.oid_at_index(position).to_owned();
                let object = repo.find_object(id).expect("in the repository");
                assert_eq!((object.kind, &object.data[..]), (span.kind, bytes));
                checked += 1;
            }
        }
        assert!(checked > 0);
    }
}
