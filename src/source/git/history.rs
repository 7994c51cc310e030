//! `pkscan git`: which commits (every ref, `--branch`, `--range`), and the run that ties
//! the walk, the blob scanners and the attribution together. The walk diffs the commits on
//! the worker threads first; then the packs are decoded once each and every blob the walk
//! named is scanned under its first path, the rest read one by one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use gix::ObjectId;
use ignore::gitignore::Gitignore;

use super::blobs::{self, Counters, Job, Scanned};
use super::trees::Trees;
use super::{attribute, exposure, packs, walk, GitOptions};
use crate::scan::{Collector, Engine};

/// Jobs queued per scanner of the per-object path.
const QUEUE_PER_THREAD: usize = 256;
/// Delta cache of the walk (trees only).
const WALK_PACK_CACHE_BYTES: usize = 12 << 20;

/// Scans every commit `git` selects; returns what was found and whether the history is
/// partial (a shallow clone).
pub(crate) fn scan(
    repo: &gix::ThreadSafeRepository,
    engine: &Engine<'_>,
    git: &GitOptions,
    excludes: &Gitignore,
) -> Result<(Collector, bool)> {
    let local = blobs::handle(repo);
    let mut walker = repo.to_thread_local();
    // The walk reads through a store of its own, unmapped when the walk ends: the pack
    // traversal maps each pack again, and pages mapped twice count twice in the peak RSS.
    if let Some(objects) = own_store(repo) {
        walker.objects = objects;
    }
    // Trees are read twice (as a commit's and as its child's parent tree), close together,
    // and each version of a folder's tree is usually a delta on the one before, which the
    // delta cache must still hold: small objects, so a cache by bytes, not by count.
    walker.object_cache_size(4 << 20);
    walker.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(WALK_PACK_CACHE_BYTES))
    });
    let threads = engine.opts.worker_threads().max(1);
    let counters = Counters::default();
    let done = AtomicBool::new(false);
    let (history, scanned) = std::thread::scope(|scope| {
        if git.progress {
            scope.spawn(|| show_progress(&counters, &done));
        }
        // Listing the refs (hundreds in a mirror, each peeled) needs none of the tree pass.
        let selecting = scope.spawn(|| select(&repo.to_thread_local(), git));
        // The walk comes first, on every worker thread: the packs are then decoded once, in
        // their own order, and a blob can only be scanned once its path is known.
        // Over the whole history the walk reads most trees of the packs, each twice: they
        // are decoded once, up front, and dropped before the blobs are. Nearly every blob
        // is wanted too: the delta tree of each pack's other entries (a serial read of
        // every entry header) is built beside the decoding of its trees and the walk.
        let mut preparing = Vec::new();
        let trees = if git.branch.is_none() && git.range.is_none() {
            let (objects_dir, hash) = (repo.objects.path(), repo.objects.object_hash());
            Trees::from_packs(objects_dir, hash, threads, &mut |index_path, others| {
                let prepare = move || packs::prepare(index_path, hash, Some(others));
                preparing.push(scope.spawn(prepare));
            })
        } else {
            Trees::default()
        };
        let selected = selecting.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let (tips, hidden) = match selected {
            Ok(selected) => selected,
            Err(err) => {
                done.store(true, Ordering::Relaxed); // or the spinner would never stop
                return Err(err);
            }
        };
        let mut first_paths = Vec::new();
        let history = walk::walk(
            &walker,
            threads,
            &trees,
            &tips,
            &hidden,
            excludes,
            &|| {
                counters.commits.fetch_add(1, Ordering::Relaxed);
            },
            &mut |blob, _, path, _| {
                let blob = blob as usize;
                if first_paths.len() <= blob {
                    first_paths.resize(blob + 1, u32::MAX);
                }
                first_paths[blob] = path;
            },
        );
        drop(walker);
        drop(trees);
        // A pack whose tree could not be built is left to the per-object path.
        let prepared = (!preparing.is_empty()).then(|| {
            preparing.into_iter().filter_map(|handle| handle.join().ok().flatten()).collect()
        });
        let scanned = scan_blobs(repo, engine, &history, first_paths, threads, &counters, prepared);
        done.store(true, Ordering::Relaxed);
        Ok::<_, anyhow::Error>((history, scanned))
    })?;
    let mut out = Collector::default();
    out.errors.extend(history.errors.iter().cloned());
    out.files_scanned = scanned.out.files_scanned;
    out.bytes_scanned = scanned.out.bytes_scanned;
    out.allowed = scanned.out.allowed;
    out.errors.extend(scanned.out.errors.iter().cloned());
    out.public_keys.clone_from(&scanned.out.public_keys);
    let keys = exposure::keys_by_blob(&scanned.flagged);
    attribute::attribute(&local, engine, &history, scanned, &mut out);
    out.exposures = Some(exposure::expose(&local, &history, keys, &mut out));
    super::drop_aside(history);
    Ok((out, local.is_shallow()))
}

/// Scans every blob the walk sent, each once under the first path it was met at: those
/// in packs as the packs are decoded, the rest (loose objects, anything a pack traversal
/// missed) read one by one.
fn scan_blobs(
    repo: &gix::ThreadSafeRepository,
    engine: &Engine<'_>,
    history: &walk::History,
    mut first_paths: Vec<u32>,
    threads: usize,
    counters: &Counters,
    prepared: Option<Vec<packs::Prepared>>,
) -> Scanned {
    first_paths.resize(history.blobs.len(), u32::MAX);
    let sent = |blob: usize| history.sent.get(blob).copied().unwrap_or(false);
    let wanted = packs::Wanted {
        ids: &history.blob_ids,
        paths: &first_paths,
        path_texts: &history.paths,
        claimed: (0..history.blobs.len()).map(|blob| AtomicBool::new(!sent(blob))).collect(),
    };
    let (objects_dir, hash) = (repo.objects.path(), repo.objects.object_hash());
    let mut scanned = packs::scan(objects_dir, hash, engine, &wanted, threads, counters, prepared);
    let left: Vec<Job> = (0..history.blobs.len())
        .filter(|&blob| !wanted.claimed[blob].load(Ordering::Relaxed))
        .map(|blob| {
            let path = first_paths[blob];
            let path_text = history.paths[path as usize].clone();
            Job { blob: blob as u32, id: history.blobs[blob], path, path_text }
        })
        .collect();
    if !left.is_empty() {
        scanned.merge(scan_each(repo, engine, left, threads, counters));
    }
    scanned
}

/// Reads and scans `jobs` one object at a time through the workers' own caches.
fn scan_each(
    repo: &gix::ThreadSafeRepository,
    engine: &Engine<'_>,
    jobs: Vec<Job>,
    threads: usize,
    counters: &Counters,
) -> Scanned {
    // One queue per scanner, by path: a file's versions go to the same scanner, whose pack
    // cache then holds the previous version, the base of the next one's delta.
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..threads).map(|_| crossbeam_channel::bounded::<Job>(QUEUE_PER_THREAD)).unzip();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for job in jobs {
                // The scanners outlive this loop, so the channel only closes when it ends.
                let _ = senders[job.path as usize % senders.len()].send(job);
            }
        });
        blobs::scan_all(repo, engine, receivers, counters)
    })
}

/// A new object store for the repository's objects (same alternates and replacements),
/// or `None` if it cannot be opened, and then the walk shares the repository's.
fn own_store(repo: &gix::ThreadSafeRepository) -> Option<gix::OdbHandle> {
    let store = &repo.objects;
    let options = gix::odb::store::init::Options {
        use_multi_pack_index: store.use_multi_pack_index(),
        ..Default::default()
    };
    let handle =
        gix::odb::at_opts(store.path(), store.object_hash(), store.replacements(), options);
    handle.ok().map(gix::OdbHandle::from)
}

/// The commits to scan (tips) and those whose ancestry is excluded (`--range A..B`'s A).
fn select(repo: &gix::Repository, git: &GitOptions) -> Result<(Vec<ObjectId>, Vec<ObjectId>)> {
    if let Some(range) = &git.range {
        let Some((from, to)) = range.split_once("..") else {
            bail!("--range {range:?}: expected A..B, e.g. --range origin/main..HEAD");
        };
        if to.starts_with('.') {
            bail!("--range {range:?}: A...B is not supported; use A..B");
        }
        let side = |rev: &str| if rev.is_empty() { "HEAD".to_string() } else { rev.to_string() };
        return Ok((vec![resolve(repo, &side(to))?], vec![resolve(repo, &side(from))?]));
    }
    if let Some(branch) = &git.branch {
        return Ok((vec![resolve(repo, branch)?], Vec::new()));
    }
    let mut tips = Vec::new();
    if let Ok(head) = repo.head_id() {
        tips.push(head.detach());
    }
    let refs = repo.references().context("cannot list the repository's references")?;
    for reference in refs.all().context("cannot list the repository's references")? {
        let Ok(mut reference) = reference else {
            continue;
        };
        let Ok(id) = reference.peel_to_id() else {
            continue; // a dangling ref: nothing to scan
        };
        let is_commit = repo
            .find_header(id)
            .map(|header| header.kind() == gix::object::Kind::Commit)
            .unwrap_or(false);
        if is_commit {
            tips.push(id.detach());
        }
    }
    tips.sort();
    tips.dedup();
    Ok((tips, Vec::new()))
}

fn resolve(repo: &gix::Repository, rev: &str) -> Result<ObjectId> {
    let id = repo
        .rev_parse_single(rev)
        .map_err(|err| anyhow::anyhow!("{err}"))
        .with_context(|| format!("cannot resolve revision {rev:?}"))?;
    let object = id.object().with_context(|| format!("cannot read {rev:?} ({id})"))?;
    let commit = object
        .peel_to_commit()
        .with_context(|| format!("revision {rev:?} does not name a commit"))?;
    Ok(commit.id)
}

/// A spinner with the running counts, redrawn until `done`.
fn show_progress(counters: &Counters, done: &AtomicBool) {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(100));
    while !done.load(Ordering::Relaxed) {
        let mib = counters.bytes.load(Ordering::Relaxed) as f64 / (1 << 20) as f64;
        bar.set_message(format!(
            "{} commits, {} blobs, {mib:.1} MiB, {} with findings",
            counters.commits.load(Ordering::Relaxed),
            counters.blobs.load(Ordering::Relaxed),
            counters.flagged.load(Ordering::Relaxed),
        ));
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
}
