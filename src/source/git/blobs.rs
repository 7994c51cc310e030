//! The blob scanners: worker threads, each with its own repository handle (and so its own
//! pack cache), that read every distinct blob the walk sends them once and scan it. Only
//! blobs with findings are kept, with those findings; everything else is just counted.
//! Memory holds one blob per worker, never the history.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::Receiver;
use gix::objs::Find;
use gix::ObjectId;

use crate::finding::Finding;
use crate::scan::{Blob, Collector, Engine, Scratch};

/// A blob to scan, under the first path it was met at.
pub(crate) struct Job {
    pub blob: u32,
    pub id: ObjectId,
    pub path: u32,
    pub path_text: String,
}

/// Counters the progress bar reads while the scan runs.
#[derive(Default)]
pub(crate) struct Counters {
    pub commits: AtomicU64,
    pub blobs: AtomicU64,
    pub bytes: AtomicU64,
    pub flagged: AtomicU64,
}

/// What the scanners found: blobs with findings (and the path they were scanned under),
/// plus the counts and errors of every blob.
#[derive(Default)]
pub(crate) struct Scanned {
    pub flagged: Vec<(u32, u32, Vec<Finding>)>,
    pub out: Collector,
    /// Blobs and bytes scanned and not yet added to the progress counters.
    unreported: (u64, u64),
}

impl Scanned {
    pub(crate) fn merge(&mut self, other: Scanned) {
        self.flagged.extend(other.flagged);
        self.out.merge(other.out);
    }
}

/// Pack cache per worker: a file's versions reach each worker in delta-chain order, so the
/// base of the next delta is usually among the last few objects read; a small cache saves
/// most re-inflation while keeping the peak memory of all workers bounded.
const PACK_CACHE_BYTES: usize = 8 << 20;

/// Runs a scanner per queue until every queue is closed and drained.
pub(crate) fn scan_all(
    repo: &gix::ThreadSafeRepository,
    engine: &Engine<'_>,
    queues: Vec<Receiver<Job>>,
    counters: &Counters,
) -> Scanned {
    std::thread::scope(|scope| {
        let workers: Vec<_> = queues
            .into_iter()
            .map(|jobs| scope.spawn(move || worker(repo, engine, jobs, counters)))
            .collect();
        let mut all = Scanned::default();
        for worker in workers {
            match worker.join() {
                Ok(scanned) => all.merge(scanned),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    })
}

/// A repository handle for one thread, with a bounded delta-base cache.
pub(crate) fn handle(repo: &gix::ThreadSafeRepository) -> gix::Repository {
    let mut handle = repo.to_thread_local();
    handle.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::new(PACK_CACHE_BYTES))
    });
    handle.object_cache_size(0);
    handle
}

fn worker(
    repo: &gix::ThreadSafeRepository,
    engine: &Engine<'_>,
    jobs: Receiver<Job>,
    counters: &Counters,
) -> Scanned {
    let handle = handle(repo);
    let mut scanned = Scanned::default();
    let mut buf = Vec::new();
    let mut reuse = Reuse::default();
    for job in jobs {
        // Which keys a blob holds does not depend on its tree: the rules of a flagged blob
        // whose rule may (Kotlin, Java) are decided again, per tree, when attributed.
        scanned.scan(job.blob, job.path, &job.path_text, counters, |out| {
            let bytes = read_blob(&handle, &job.id, &job.path_text, &mut buf, out)?;
            scan_blob(engine, bytes, &job.path_text, None, &mut reuse, out)
        });
    }
    scanned
}

impl Scanned {
    /// Runs one blob's scan (`scan` reads and scans it into the collector it is given,
    /// returning its size, or `None` when it could not be), contained against panics;
    /// counts it, and keeps its findings apart when it had any.
    pub(crate) fn scan(
        &mut self,
        blob: u32,
        path: u32,
        path_text: &str,
        counters: &Counters,
        scan: impl FnOnce(&mut Collector) -> Option<u64>,
    ) {
        let before = self.out.findings.len();
        let out = &mut self.out;
        let Some(bytes) = crate::source::guard::guarded(|| scan(out)).unwrap_or_else(|| {
            self.out.error(path_text, crate::source::guard::INTERNAL_ERROR);
            None
        }) else {
            return;
        };
        // The progress counters are shared by every thread: told every 64 blobs, so the
        // threads do not take turns owning their cache line blob by blob (the spinner may
        // trail by a few dozen blobs a thread).
        self.unreported.0 += 1;
        self.unreported.1 += bytes;
        if self.unreported.0 == 64 {
            let (blobs, bytes) = std::mem::take(&mut self.unreported);
            counters.blobs.fetch_add(blobs, Ordering::Relaxed);
            counters.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        if self.out.findings.len() > before {
            counters.flagged.fetch_add(1, Ordering::Relaxed);
            let findings = self.out.findings.split_off(before);
            self.flagged.push((blob, path, findings));
        }
    }
}

/// A scanner's buffers and blob description, kept from blob to blob.
pub(crate) struct Reuse {
    scratch: Scratch,
    blob: Blob,
}

impl Default for Reuse {
    fn default() -> Self {
        Reuse { scratch: Scratch::default(), blob: super::blob_at("", None) }
    }
}

/// Reads blob `id` and scans it as the file at `path` (in a module with an
/// `AndroidManifest.xml` or not, when known); its findings go to `out`. Returns the blob's
/// size, or `None` when it could not be read (then `out` has the error).
pub(crate) fn scan_one(
    handle: &gix::Repository,
    engine: &Engine<'_>,
    id: &ObjectId,
    path: &str,
    android_module: Option<bool>,
    buf: &mut Vec<u8>,
    out: &mut Collector,
) -> Option<u64> {
    let bytes = read_blob(handle, id, path, buf, out)?;
    scan_blob(engine, bytes, path, android_module, &mut Reuse::default(), out)
}

/// Reads blob `id` (met at `path`) into `buf`; `None` when it cannot be read as a blob,
/// and then `out` has the error.
fn read_blob<'b>(
    handle: &gix::Repository,
    id: &ObjectId,
    path: &str,
    buf: &'b mut Vec<u8>,
    out: &mut Collector,
) -> Option<&'b [u8]> {
    match handle.objects.try_find(id, buf) {
        Ok(Some(data)) if data.kind == gix::object::Kind::Blob => Some(data.data),
        Ok(Some(data)) => {
            out.error(path, format!("object {id}: expected a blob, found a {}", data.kind));
            None
        }
        Ok(None) => {
            out.error(path, format!("blob {id} is missing from the repository"));
            None
        }
        Err(err) => {
            out.error(path, format!("cannot read blob {id}: {err}"));
            None
        }
    }
}

/// Scans a blob's bytes as the file at `path` (in a module with an `AndroidManifest.xml`
/// or not, when known; unless over `--max-file-size`, which is an error); returns its
/// size, or `None` when it was skipped.
pub(crate) fn scan_blob(
    engine: &Engine<'_>,
    bytes: &[u8],
    path: &str,
    android_module: Option<bool>,
    reuse: &mut Reuse,
    out: &mut Collector,
) -> Option<u64> {
    let size = bytes.len() as u64;
    if let Some(max) = engine.opts.max_file_size.filter(|&max| size > max) {
        out.error(path, format!("skipped: {size} bytes is over --max-file-size ({max} bytes)"));
        return None;
    }
    super::reuse_blob_at(&mut reuse.blob, path, android_module);
    engine.scan_bytes(bytes, &reuse.blob, &mut reuse.scratch, out);
    out.files_scanned += 1;
    out.bytes_scanned += size;
    Some(size)
}
