//! The pipeline: bytes from a source become findings. This is the one module that knows
//! every stage: it streams a blob through a fixed-size buffer, asks `detect` for keys in
//! each window, computes line and column only for hits, and collects findings and errors
//! per worker so that no lock is taken on the hot path.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

use memchr::{memchr, memrchr};

use crate::config::Options;
use crate::decode::{self, View};
use crate::detect::{self, asset, Candidate};
use crate::finding::{
    CommitInfo, Exposure, Finding, Layer, LineText, PublicKeySeen, ScanError, Secret,
};
use crate::lines::{char_boundary, position_after, LineCursor, Window};
use crate::mmap::MapWindow;

/// Bytes read per window. Files up to this size are scanned in one piece.
pub(crate) const CHUNK: usize = 4 << 20;
/// Bytes kept after a window's last scanned offset, so a key and its trailing context are
/// whole before they are looked at.
const TAIL: usize = 1 << 10;
/// Bytes carried into the next window: the tail plus the leading context of a key
/// (slot names, the start of a minified line).
const CARRY: usize = 8 << 10;
/// Bytes of a line kept on each side of a key for allowlist regexes and snippets.
const LINE_TEXT_BYTES: usize = 512;

/// Where a blob came from, as findings will name it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Blob {
    /// The path findings show: as the user named it, `outer!inner` for members.
    pub display: String,
    /// The path relative to the repository root (or scanned root), for fingerprints.
    pub root_relative: String,
    /// The path whose folders and extension decide whether the blob is served to clients.
    pub traits_path: String,
    /// The file on disk, when there is one (for a `sourceMappingURL` beside it, and a zip's
    /// central directory).
    pub fs_path: Option<PathBuf>,
    /// The directory `root_relative` is relative to, canonical: where the
    /// `AndroidManifest.xml` look-up of a file on disk starts from.
    pub fs_root: Option<PathBuf>,
    /// The tree a Kotlin or Java file's `AndroidManifest.xml` is looked up in.
    pub manifests: Manifests,
    /// Layers already undone to get these bytes (a gzip file), outermost first.
    pub layers: Vec<Layer>,
    pub commit: Option<CommitInfo>,
    /// Served to clients whatever the path says (everything `pkscan url` fetched).
    pub served: bool,
}

/// Where the `AndroidManifest.xml` of a blob's module is looked up: always in the tree the
/// blob came from, never through the path the user typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Manifests {
    /// On disk, below `fs_root`, along `root_relative` (nothing without an `fs_root`).
    #[default]
    OnDisk,
    /// The source already knows (a commit's tree, the index).
    Known(bool),
    /// Among the members of the innermost archive: the names of its manifests. The blob's
    /// last `!` segment is its name there.
    Members(Arc<[String]>),
}

impl Blob {
    pub(crate) fn member(&self, name: &str, layers: Vec<Layer>) -> Blob {
        Blob {
            display: format!("{}!{name}", self.display),
            root_relative: format!("{}!{name}", self.root_relative),
            traits_path: format!("{}!{name}", self.traits_path),
            fs_path: None,
            fs_root: None,
            manifests: Manifests::Members(Arc::from([])),
            layers,
            commit: self.commit.clone(),
            served: self.served,
        }
    }
}

/// What one worker found; merged once at the end of a run.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub skipped: u64,
    pub allowed: u64,
    /// Public keys seen in public-key slots, every sighting (the report keeps the first).
    pub public_keys: Vec<PublicKeySeen>,
    /// What a history source learned of each key; `None` outside history scans.
    pub exposures: Option<HashMap<Secret, Exposure>>,
}

impl Collector {
    pub(crate) fn merge(&mut self, other: Collector) {
        self.findings.extend(other.findings);
        self.errors.extend(other.errors);
        self.public_keys.extend(other.public_keys);
        self.files_scanned += other.files_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.skipped += other.skipped;
        self.allowed += other.allowed;
    }

    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ScanError::new(path, message));
    }
}

/// A worker's reusable buffers: allocated once, never per file.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The streaming window (and the window of the streams a decoded file leads to).
    buf: Vec<u8>,
    /// A file read whole: apart from `buf`, so a compressed file read whole can still be
    /// decoded through `buf`. Grows to the largest such file, at most [`CHUNK`].
    whole: Vec<u8>,
    found: Found,
}

/// What one window's search finds, kept between windows and blobs so that a history of
/// hundreds of thousands of small blobs does not allocate these afresh for each.
#[derive(Default)]
pub(crate) struct Found {
    candidates: Vec<Candidate>,
    /// Where Klaviyo is mentioned.
    mentions: Vec<usize>,
    /// Public keys (start, end).
    sightings: Vec<(usize, usize)>,
    /// The text near the mentions, lowercased, for the slot-name search.
    lower: Vec<u8>,
}

/// Where a source's worker puts the blobs it reads: made by the pipeline
/// ([`Engine::sink`]), one per worker, holding that worker's buffers and what it found.
/// Sources hand it blobs and count what they skip; they never see the engine's parts.
pub(crate) struct Sink<'e> {
    engine: &'e Engine<'e>,
    scratch: Scratch,
    pub(crate) out: Collector,
}

impl<'e> Sink<'e> {
    pub(crate) fn opts(&self) -> &'e Options {
        self.engine.opts
    }

    /// A whole file or stream, through its decoding layers; returns the bytes read.
    pub(crate) fn file(&mut self, reader: &mut dyn Read, blob: &Blob) -> io::Result<u64> {
        self.engine.scan_file(reader, blob, &mut self.scratch, &mut self.out)
    }

    /// A file of at most [`CHUNK`] bytes, `len` at open, in one read ([`Engine::scan_small`]).
    pub(crate) fn small(
        &mut self,
        reader: &mut dyn Read,
        len: u64,
        blob: &Blob,
    ) -> io::Result<u64> {
        self.engine.scan_small(reader, len, blob, &mut self.scratch, &mut self.out)
    }

    /// A regular file through memory maps, or `None` for the read path
    /// ([`Engine::scan_mapped`]).
    pub(crate) fn mapped(
        &mut self,
        file: &File,
        len: u64,
        blob: &Blob,
    ) -> io::Result<Option<Mapped>> {
        self.engine.scan_mapped(file, len, blob, &mut self.scratch, &mut self.out)
    }

    /// A blob already in memory (a staged file).
    pub(crate) fn bytes(&mut self, bytes: &[u8], blob: &Blob) {
        let before = self.out.findings.len();
        self.engine.scan_in_memory(bytes, blob, &mut self.scratch, &mut self.out);
        self.engine.place_in_map(bytes, blob, before, &mut self.out);
    }

    /// What this worker found.
    pub(crate) fn into_collected(self) -> Collector {
        self.out
    }
}

/// Scans blobs with one set of options. Cheap to share between threads.
pub(crate) struct Engine<'o> {
    pub opts: &'o Options,
}

impl<'o> Engine<'o> {
    pub(crate) fn new(opts: &'o Options) -> Engine<'o> {
        Engine { opts }
    }

    /// A sink for one worker of a source, with buffers of its own.
    pub(crate) fn sink(&self) -> Sink<'_> {
        Sink { engine: self, scratch: Scratch::default(), out: Collector::default() }
    }

    /// Scans a file's bytes: the entry point for every source that reads a whole file or
    /// stream. Returns the bytes read.
    pub(crate) fn scan_file(
        &self,
        reader: &mut dyn Read,
        blob: &Blob,
        scratch: &mut Scratch,
        out: &mut Collector,
    ) -> io::Result<u64> {
        if !self.opts.decode {
            return self.stream(reader, blob, &mut scratch.buf, &mut scratch.found, out);
        }
        let mut leaves = Leaves { engine: self, top: blob, scratch, out, bytes: 0 };
        let disk = blob.fs_path.as_deref();
        decode::scan_file(reader, &blob.display, disk, &self.opts.limits, &mut leaves)?;
        Ok(leaves.bytes)
    }

    /// Scans everything `reader` yields through the window `buf`, in bounded memory;
    /// returns the bytes read.
    fn stream(
        &self,
        reader: &mut dyn Read,
        blob: &Blob,
        buf: &mut Vec<u8>,
        found: &mut Found,
        out: &mut Collector,
    ) -> io::Result<u64> {
        window_sized(buf);
        let mut cursor = LineCursor::default();
        let mut base = 0u64; // stream offset of buf[0]
        let mut filled = 0usize;
        let mut scan_from = 0usize;
        loop {
            let eof = fill(reader, buf, &mut filled)?;
            let until = if eof { filled } else { filled - TAIL };
            let window = Window { bytes: &buf[..filled], base };
            self.scan_window(&window, scan_from, until, &mut cursor, blob, found, out);
            if eof {
                return Ok(base + filled as u64);
            }
            let keep_from = char_boundary(&buf[..filled], filled - CARRY);
            cursor.advance(&window, base + keep_from as u64);
            buf.copy_within(keep_from..filled, 0);
            filled -= keep_from;
            base += keep_from as u64;
            scan_from = until - keep_from;
        }
    }

    /// Scans a file of at most [`CHUNK`] bytes, `len` when it was opened, with one read
    /// into the worker's buffer: no sniffing reads, no end-of-file read. Bytes appended
    /// after the open are not read (nor are they by a map). Returns the bytes read.
    pub(crate) fn scan_small(
        &self,
        reader: &mut dyn Read,
        len: u64,
        blob: &Blob,
        scratch: &mut Scratch,
        out: &mut Collector,
    ) -> io::Result<u64> {
        let len = usize::try_from(len).map_or(CHUNK, |len| len.min(CHUNK));
        let mut whole = std::mem::take(&mut scratch.whole);
        if whole.len() < len {
            whole.resize(len, 0);
        }
        let mut filled = 0;
        let read = fill(reader, &mut whole[..len], &mut filled);
        if read.is_ok() {
            self.scan_in_memory(&whole[..filled], blob, scratch, out);
        }
        scratch.whole = whole;
        read.map(|_| filled as u64)
    }

    /// Scans a regular file of `len` bytes through memory-mapped windows of the size the
    /// read path uses, with the same carry, so both see the same bytes around every hit.
    /// `None` when the file must take the read path: a decoding layer opens at its start,
    /// or it cannot be mapped (no SIGBUS handler, a file system without maps).
    pub(crate) fn scan_mapped(
        &self,
        file: &File,
        len: u64,
        blob: &Blob,
        scratch: &mut Scratch,
        out: &mut Collector,
    ) -> io::Result<Option<Mapped>> {
        MapWindow::take_cut_short(); // a flag left by a scan that panicked is not ours
        let mut cursor = LineCursor::default();
        let mut base = 0u64; // file offset of the window's first byte
        let mut scan_from = 0u64;
        loop {
            let end = len.min(base + (CHUNK + CARRY) as u64);
            let eof = end == len;
            let map = match MapWindow::map(file, base, (end - base) as usize) {
                Ok(Some(map)) => map,
                Ok(None) => return Ok(None),
                // A file system that cannot map (some FUSE and proc files) is read instead.
                Err(_) if base == 0 => return Ok(None),
                Err(err) => return Err(err),
            };
            if base == 0 && self.opts.decode && decode::is_layered(&map, &blob.display) {
                return Ok(None);
            }
            let until = if eof { end } else { end - TAIL as u64 };
            let window = Window { bytes: &map, base };
            let (from, to) = ((scan_from - base) as usize, (until - base) as usize);
            self.scan_window(&window, from, to, &mut cursor, blob, &mut scratch.found, out);
            let cut_short = MapWindow::take_cut_short();
            if eof || cut_short {
                return Ok(Some(Mapped { cut_short }));
            }
            let keep_from = char_boundary(&map, map.len() - CARRY);
            cursor.advance(&window, base + keep_from as u64);
            base += keep_from as u64;
            scan_from = until;
        }
    }

    /// Scans a blob that is already in memory (git objects, decoded views) through a
    /// worker's buffers: a history hands a worker hundreds of thousands of small blobs,
    /// each of which would grow buffers of its own afresh.
    pub(crate) fn scan_bytes(
        &self,
        bytes: &[u8],
        blob: &Blob,
        scratch: &mut Scratch,
        out: &mut Collector,
    ) {
        let before = out.findings.len();
        self.scan_in_memory(bytes, blob, scratch, out);
        self.place_in_map(bytes, blob, before, out);
    }

    /// A source map in history or the index: the keys found in it since `before` are
    /// placed in its sourcesContent while its bytes are at hand. (A bundle's map is another
    /// blob, read afterwards: `source::git::maps`.)
    fn place_in_map(&self, bytes: &[u8], blob: &Blob, before: usize, out: &mut Collector) {
        let plain = !self.opts.decode || !decode::is_layered(bytes, &blob.display);
        if out.findings.len() > before && plain && blob.display.ends_with(".map") {
            if let Err(why) = crate::original::place_in_map(bytes, &mut out.findings[before..]) {
                out.error(blob.display.clone(), why);
            }
        }
    }

    fn scan_in_memory(
        &self,
        bytes: &[u8],
        blob: &Blob,
        scratch: &mut Scratch,
        out: &mut Collector,
    ) {
        if self.opts.decode && decode::is_layered(bytes, &blob.display) {
            if let Err(err) = self.scan_file(&mut &bytes[..], blob, scratch, out) {
                out.error(blob.display.clone(), err.to_string());
            }
            return;
        }
        let window = Window { bytes, base: 0 };
        let mut cursor = LineCursor::default();
        self.scan_window(&window, 0, bytes.len(), &mut cursor, blob, &mut scratch.found, out);
    }

    #[allow(clippy::too_many_arguments)] // the window's state travels together; a struct would only rename it
    fn scan_window(
        &self,
        window: &Window<'_>,
        from: usize,
        until: usize,
        cursor: &mut LineCursor,
        blob: &Blob,
        found: &mut Found,
        out: &mut Collector,
    ) {
        let Found { candidates, mentions, sightings, lower } = found;
        candidates.clear();
        mentions.clear();
        sightings.clear();
        // Asked only at a hit: most windows have none, and then the path is never parsed.
        let traits = std::cell::OnceCell::new();
        let served = |buf: &[u8], start, end| {
            let traits = traits.get_or_init(|| asset::PathTraits::of(&blob.traits_path));
            is_served(traits, blob, buf, start, end)
        };
        // With decoding on, plain keys (and mentions of Klaviyo, where public keys are
        // looked for) come from the decoders' single prefilter pass.
        if self.opts.decode {
            let mut stops = Vec::new();
            let limits = &self.opts.limits;
            decode::find_encoded(
                window.bytes,
                from,
                until,
                limits,
                &served,
                candidates,
                &mut stops,
                mentions,
            );
            for stop in stops {
                out.error(blob.display.clone(), stop);
            }
        } else {
            let bytes = window.bytes;
            detect::find_candidates_and_mentions(bytes, from, until, served, candidates, mentions);
        }
        self.opts.custom_rules.find_candidates(window.bytes, from, until, candidates);
        candidates.sort_by_key(|c| c.start);
        let bytes = window.bytes;
        detect::classify::for_each_public_key(bytes, from, until, mentions, lower, |start, end| {
            sightings.push((start, end));
        });
        // The cursor only moves forward: keys and public keys are recorded in one order.
        let mut sightings = sightings.drain(..).peekable();
        for candidate in candidates.drain(..) {
            while let Some((start, end)) = sightings.next_if(|(start, _)| *start < candidate.start)
            {
                self.saw_public_key(window, start, end, cursor, blob, out);
            }
            self.record(window, &candidate, cursor, blob, out);
        }
        for (start, end) in sightings {
            self.saw_public_key(window, start, end, cursor, blob, out);
        }
    }

    /// Notes a public key at `bytes[start..end]`, keeping only its first place per worker.
    fn saw_public_key(
        &self,
        window: &Window<'_>,
        start: usize,
        end: usize,
        cursor: &mut LineCursor,
        blob: &Blob,
        out: &mut Collector,
    ) {
        cursor.advance(window, window.base + start as u64);
        let id = String::from_utf8_lossy(&window.bytes[start..end]);
        let line = cursor.line;
        match out.public_keys.iter_mut().find(|seen| seen.id == id) {
            Some(seen) if (seen.path.as_str(), seen.line) <= (blob.display.as_str(), line) => {}
            Some(seen) => {
                seen.path.clone_from(&blob.display);
                seen.line = line;
            }
            None => out.public_keys.push(PublicKeySeen {
                id: id.into_owned(),
                path: blob.display.clone(),
                line,
            }),
        }
    }

    fn record(
        &self,
        window: &Window<'_>,
        candidate: &Candidate,
        cursor: &mut LineCursor,
        blob: &Blob,
        out: &mut Collector,
    ) {
        let bytes = window.bytes;
        let (start, end) = (candidate.start, candidate.end);
        let line_start = memrchr(b'\n', &bytes[..start]).map_or(0, |i| i + 1);
        let line_end = memchr(b'\n', &bytes[end..]).map_or(bytes.len(), |i| end + i);
        let line = &bytes[line_start..line_end];
        if memchr::memmem::find(line, b"pkscan:allow").is_some() {
            out.allowed += 1;
            return;
        }
        cursor.advance(window, window.base + start as u64);
        let (line_no, column) = (cursor.line, cursor.column);
        let (end_line, end_column) = position_after(line_no, column, &bytes[start..end]);
        let key = match &candidate.key {
            Some(key) => key.clone(),
            None => String::from_utf8_lossy(&bytes[start..end]).into_owned(),
        };
        let excerpt_start =
            char_boundary(bytes, start.saturating_sub(LINE_TEXT_BYTES).max(line_start));
        let excerpt_end = (end + LINE_TEXT_BYTES).min(line_end);
        let rule = match candidate.custom.and_then(|i| self.opts.custom_rules.get(i)) {
            Some(custom) => custom.rule(),
            None => candidate.rule.rule(),
        };
        let mut decoded = blob.layers.clone();
        decoded.extend(candidate.layers.iter().copied());
        out.findings.push(Finding {
            rule_id: rule.id.into_owned(),
            severity: rule.severity,
            path: blob.display.clone(),
            root_relative_path: blob.root_relative.clone(),
            line: line_no,
            column,
            end_line,
            end_column,
            secret: Secret::new(key),
            decoded,
            message: rule.message.into_owned(),
            commit: blob.commit.clone(),
            verification: None,
            line_text: LineText::new(String::from_utf8_lossy(&bytes[excerpt_start..excerpt_end])),
            original: None,
            repository: None,
            recorded_fingerprint: None,
        });
    }
}

/// How a mapped scan ended.
pub(crate) struct Mapped {
    /// Part of the file read as zeros: it was cut short while mapped.
    pub cut_short: bool,
}

/// Scans the plain streams a file's decoding layers lead to, as blobs of their own.
struct Leaves<'e, 'o> {
    engine: &'e Engine<'o>,
    top: &'e Blob,
    scratch: &'e mut Scratch,
    out: &'e mut Collector,
    bytes: u64,
}

/// The blob a view of `top` is scanned as: `outer!member` paths, outer layers first.
fn view_blob<'b>(top: &'b Blob, view: &View) -> Cow<'b, Blob> {
    if view.members.is_empty() && view.layers.is_empty() {
        return Cow::Borrowed(top);
    }
    let mut blob = top.clone();
    for name in &view.members {
        let layers = blob.layers.clone();
        blob = blob.member(name, layers);
    }
    if !view.members.is_empty() {
        blob.manifests = Manifests::Members(Arc::clone(&view.manifests));
    }
    let keep = blob.traits_path.len().saturating_sub(view.stripped);
    blob.traits_path.truncate(keep);
    blob.layers.extend(view.layers.iter().copied());
    Cow::Owned(blob)
}

impl decode::Visitor for Leaves<'_, '_> {
    fn leaf(&mut self, reader: &mut dyn Read, view: &View) -> io::Result<()> {
        let blob = view_blob(self.top, view);
        let scratch = &mut *self.scratch;
        let (buf, found) = (&mut scratch.buf, &mut scratch.found);
        self.bytes += self.engine.stream(reader, &blob, buf, found, self.out)?;
        Ok(())
    }

    fn error(&mut self, view: &View, message: String) {
        self.out.error(view_blob(self.top, view).display.clone(), message);
    }
}

fn is_served(
    traits: &asset::PathTraits,
    blob: &Blob,
    buf: &[u8],
    start: usize,
    end: usize,
) -> bool {
    blob.served
        || traits.is_served_at(buf, start, end)
        || (traits.maybe_android && has_android_manifest(blob))
}

/// A Kotlin or Java file is app code when a folder above it (up to the root of its tree:
/// the repository or scanned folder, the commit, the archive) holds `AndroidManifest.xml`
/// directly or in `src/main/`.
fn has_android_manifest(blob: &Blob) -> bool {
    match &blob.manifests {
        Manifests::Known(known) => *known,
        Manifests::Members(names) => {
            let name = blob.root_relative.rsplit('!').next().unwrap_or_default();
            asset::android_manifest_paths(name).any(|path| names.contains(&path))
        }
        Manifests::OnDisk => blob.fs_root.as_ref().is_some_and(|root| {
            asset::android_manifest_paths(&blob.root_relative).any(|path| root.join(path).is_file())
        }),
    }
}

/// Grows a worker's buffer, once, to a window and its carry.
fn window_sized(buf: &mut Vec<u8>) {
    if buf.len() < CHUNK + CARRY {
        buf.resize(CHUNK + CARRY, 0);
    }
}

/// Reads into `buf[*filled..]` until it is full or the reader ends; true at end of input.
fn fill(reader: &mut dyn Read, buf: &mut [u8], filled: &mut usize) -> io::Result<bool> {
    while *filled < buf.len() {
        match reader.read(&mut buf[*filled..]) {
            Ok(0) => return Ok(true),
            Ok(n) => *filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"; // pkscan:allow

    fn scan_stream(text: &[u8]) -> Collector {
        let opts = Options::default();
        let engine = Engine::new(&opts);
        let blob = Blob { display: "x.txt".into(), traits_path: "x.txt".into(), ..Blob::default() };
        let mut out = Collector::default();
        let mut scratch = Scratch::default();
        let mut reader = text;
        let (buf, found) = (&mut scratch.buf, &mut scratch.found);
        engine.stream(&mut reader, &blob, buf, found, &mut out).unwrap();
        out
    }

    /// Scans `text` streamed, mapped from a file, and (when it fits) read whole, and checks
    /// the three agree on every finding.
    fn scan_each_way(text: &[u8]) -> Collector {
        let streamed = scan_stream(text);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        std::fs::write(&path, text).unwrap();
        let file = File::open(&path).unwrap();
        let opts = Options::default();
        let engine = Engine::new(&opts);
        let blob = Blob { display: "x.txt".into(), traits_path: "x.txt".into(), ..Blob::default() };
        let mut scratch = Scratch::default();
        let mut mapped = Collector::default();
        let len = text.len() as u64;
        let how = engine.scan_mapped(&file, len, &blob, &mut scratch, &mut mapped).unwrap();
        assert_eq!(how.is_some(), cfg!(target_os = "linux"), "files are mapped on Linux only");
        if let Some(how) = how {
            assert!(!how.cut_short);
            assert_eq!(debug(&mapped), debug(&streamed), "mapped and streamed differ");
        }
        if text.len() <= CHUNK {
            let mut whole = Collector::default();
            let read =
                engine.scan_small(&mut &text[..], len, &blob, &mut scratch, &mut whole).unwrap();
            assert_eq!(read, len);
            assert_eq!(debug(&whole), debug(&streamed), "read whole and streamed differ");
        }
        streamed
    }

    fn debug(out: &Collector) -> String {
        format!("{:?}", out.findings)
    }

    fn positions(out: &Collector) -> Vec<(u64, u64, u64, u64)> {
        out.findings.iter().map(|f| (f.line, f.column, f.end_line, f.end_column)).collect()
    }

    #[test]
    fn lines_and_code_point_columns() {
        let text = format!("a\n\"é→{KEY}\"\r\nx {KEY}");
        let out = scan_each_way(text.as_bytes());
        assert_eq!(positions(&out), vec![(2, 4, 2, 41), (3, 3, 3, 40)]);
    }

    #[test]
    fn keys_straddling_chunk_boundaries_are_found_once_with_right_positions() {
        for shift in [0, 1, 17, 36, 37, TAIL, TAIL + 1, CARRY] {
            let mut text = vec![b'a'; CHUNK + CARRY - shift];
            text.push(b'\n');
            text.extend_from_slice(b"bb ");
            text.extend_from_slice(KEY.as_bytes());
            text.push(b';');
            text.extend(std::iter::repeat_n(b'z', CHUNK));
            text.extend_from_slice(b" \xff");
            text.extend_from_slice(KEY.as_bytes());
            let out = scan_each_way(&text);
            assert_eq!(
                positions(&out),
                vec![(2, 4, 2, 41), (2, 44 + CHUNK as u64, 2, 81 + CHUNK as u64)],
                "shift {shift}"
            );
        }
    }

    #[test]
    fn a_column_deep_in_a_giant_line_is_exact() {
        let mut text = "é".repeat(7_500_000).into_bytes(); // 15,000,000 bytes
        text.extend_from_slice(KEY.as_bytes());
        let out = scan_each_way(&text);
        assert_eq!(positions(&out), vec![(1, 7_500_001, 1, 7_500_038)]);
    }

    #[test]
    #[cfg(target_os = "linux")] // maps, and the SIGBUS they raise, are made on Linux only
    fn a_file_shorter_than_its_size_at_open_is_scanned_to_its_end_and_flagged() {
        // The file is 2 MiB but claimed to be 16 MiB, as if it were cut short after it was
        // measured: its last windows are past the end, and touching them raises SIGBUS.
        let mut text = format!("{KEY}\n").into_bytes();
        text.resize(2 << 20, b'a');
        text.extend_from_slice(format!("\n{KEY}\n").as_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let opts = Options::default();
        let engine = Engine::new(&opts);
        let blob = Blob { display: "x.txt".into(), traits_path: "x.txt".into(), ..Blob::default() };
        let mut out = Collector::default();
        let mapped = engine
            .scan_mapped(&file, 16 << 20, &blob, &mut Scratch::default(), &mut out)
            .unwrap()
            .expect("mapped");
        assert!(mapped.cut_short);
        assert_eq!(positions(&out), vec![(1, 1, 1, 38), (3, 1, 3, 38)]);
    }

    #[test]
    fn a_layered_file_is_left_to_the_read_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.js.gz");
        let mut gz = vec![0x1f, 0x8b, 0x08, 0];
        gz.resize(2 << 20, 0);
        std::fs::write(&path, &gz).unwrap();
        let opts = Options::default();
        let engine = Engine::new(&opts);
        let blob = Blob { display: "x.js.gz".into(), ..Blob::default() };
        let file = File::open(&path).unwrap();
        let mut out = Collector::default();
        let how =
            engine.scan_mapped(&file, gz.len() as u64, &blob, &mut Scratch::default(), &mut out);
        assert!(how.unwrap().is_none());
        let plain = Options { decode: false, ..Options::default() };
        let how = Engine::new(&plain).scan_mapped(
            &file,
            gz.len() as u64,
            &blob,
            &mut Scratch::default(),
            &mut out,
        );
        let mapped = how.unwrap().is_some();
        assert_eq!(mapped, cfg!(target_os = "linux"), "with --no-decode nothing is layered");
    }

    #[test]
    fn allow_comments_suppress_and_count() {
        let text = format!("{KEY} // pkscan:allow\n{KEY}\n");
        let out = scan_stream(text.as_bytes());
        assert_eq!(out.allowed, 1);
        assert_eq!(positions(&out), vec![(2, 1, 2, 38)]);
    }
}
