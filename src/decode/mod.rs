//! Views worth scanning: the layers a key can hide behind in a built site, a release
//! archive or an app package, each undone in bounded memory.
//!
//! Two entry points. [`scan_file`] sniffs a whole file (magic bytes first, the name where
//! a format has no magic) and walks its layers: gzip and brotli streams, zip-family and tar
//! archives (nested to the depth limit), UTF-16 text; it hands every plain stream to a
//! [`Visitor`] (the scanner) with the layers and member names that lead to it.
//! [`find_encoded`] looks inside one scan window for keys that only appear after a
//! text-level decoding (base64 runs, UTF-16 strings inside binaries).
//!
//! What this module is not: it makes no findings (that is `scan`), and escapes around a
//! raw key (JSON, percent, HTML) are `detect::classify`'s job, since they decide a rule
//! rather than reveal a key.
//!
//! One arrow points from here to `detect`, on purpose. The stream layers hand views back:
//! [`scan_file`] gives each plain stream to the pipeline's [`Visitor`], which runs
//! detection on it. The text layers do not: [`find_encoded`] (`base64.rs`, `utf16.rs`)
//! calls `detect::find_candidates`, `detect::classify` and `detect::shape::key_end_at`
//! on the few hundred bytes it decodes around a hit, and returns candidates already in
//! stored offsets. Handing those back as views would cost the hot path: the plain `pk_`
//! search shares this module's one prefilter pass over each window (a window is read
//! once, not twice), nearly every hit is a plain key that needs no view, and an encoded
//! hit's rule depends on stored context before the run (`/api/track?data=`) and its
//! location must be mapped back from decoded to stored offsets, which only the decoder
//! knows. So `decode` sees `detect` (functions and `Candidate`), never `scan`, `config`
//! or `report`, and `detect` never sees `decode`: the graph stays a line.

mod archive;
pub(crate) mod base64;
mod compress;
pub(crate) mod limits;
pub(crate) mod utf16;

use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

pub use limits::Limits;
use limits::{Budget, Stop};

use crate::finding::Layer;

/// Bytes looked at to recognise a format: a tar header is 512 bytes.
const HEAD: usize = 512;
/// Errors listed per top-level file; a bomb of 65,536 nested archives gets one line for
/// the rest rather than 65,536.
const MAX_ERRORS_PER_FILE: usize = 100;

/// Where a plain stream sits inside a top-level file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct View {
    /// Member names below the top-level file, outermost first.
    pub members: Vec<String>,
    /// Compression and text layers undone, outermost first (containers are in `members`).
    pub layers: Vec<Layer>,
    /// The stream's current name (a member path or the file name), without the suffixes
    /// of the compression already undone: what formats are guessed from.
    pub name: String,
    /// Bytes of suffix (`.gz`, `.br`) dropped from the last path segment, so the path
    /// traits of `index.html.gz` are those of `index.html`.
    pub stripped: usize,
    /// Containers and compression layers around this stream.
    pub depth: u32,
    /// The `AndroidManifest.xml` members of the innermost archive around this stream (all
    /// of them for a zip read through its central directory; for a tar or a zip read from
    /// its local headers, only those met before this member).
    pub manifests: Arc<[String]>,
}

impl View {
    fn top(name: &str) -> View {
        View { name: name.to_string(), ..View::default() }
    }

    fn member(&self, name: String, manifests: &Arc<[String]>) -> View {
        let mut members = self.members.clone();
        members.push(name.clone());
        View {
            members,
            layers: self.layers.clone(),
            name,
            stripped: 0,
            depth: self.depth + 1,
            manifests: Arc::clone(manifests),
        }
    }

    fn decoded(&self, layer: Layer, suffixes: &[&str]) -> View {
        let lower = self.name.to_ascii_lowercase();
        let cut = suffixes.iter().find(|s| lower.ends_with(*s)).map_or(0, |s| s.len());
        let mut layers = self.layers.clone();
        layers.push(layer);
        View {
            members: self.members.clone(),
            layers,
            name: self.name[..self.name.len() - cut].to_string(),
            stripped: self.stripped + cut,
            depth: self.depth + 1,
            manifests: Arc::clone(&self.manifests),
        }
    }

    fn text(&self, layer: Layer) -> View {
        let mut view = self.clone();
        view.layers.push(layer);
        view
    }
}

/// What the walk hands its findings to.
pub(crate) trait Visitor {
    /// Scans a plain stream.
    fn leaf(&mut self, reader: &mut dyn Read, view: &View) -> io::Result<()>;
    /// Records something that could not be read or was cut short, at `view`.
    fn error(&mut self, view: &View, message: String);
}

/// Scans a top-level file through every layer it has. `name` is its path as shown (its
/// extension matters where a format has no magic bytes); `disk` is where it can be
/// reopened for seeking (zip), when it is a regular file. The only error returned is the
/// top-level read's; everything below it goes to the visitor.
pub(crate) fn scan_file(
    reader: &mut dyn Read,
    name: &str,
    disk: Option<&Path>,
    limits: &Limits,
    visitor: &mut dyn Visitor,
) -> io::Result<()> {
    let budget = Budget::new(limits.max_file_bytes);
    let mut walk = Walk { limits, budget: &budget, visitor, errors: 0 };
    let view = View::top(name);
    walk.stream(reader, &view, disk)?;
    if walk.errors > MAX_ERRORS_PER_FILE {
        let more = walk.errors - MAX_ERRORS_PER_FILE;
        walk.visitor.error(&view, format!("{more} more decoding errors in this file not listed"));
    }
    Ok(())
}

/// Does an in-memory blob need [`scan_file`] (compression, a container, UTF-16) rather
/// than a plain scan?
pub(crate) fn is_layered(bytes: &[u8], name: &str) -> bool {
    sniff(&bytes[..bytes.len().min(HEAD)], name) != Format::Plain
}

/// Keys in a window as stored and those that only show after a text-level decoding
/// (base64 runs, UTF-16 strings), in one pass: see [`base64::find`].
pub(crate) use base64::find as find_encoded;

/// What a stream turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Gzip,
    Brotli,
    /// `by_magic`: false when only the name says zip, so a failure to open it means
    /// "not a zip" rather than "corrupt".
    Zip {
        by_magic: bool,
    },
    Tar,
    Utf16 {
        big_endian: bool,
        bom: bool,
    },
    Plain,
}

/// Extensions of the zip family: recognised by name too, since an archive may carry a
/// prefix (a self-extractor stub) before its first local header.
const ZIP_EXTENSIONS: &[&str] =
    &[".zip", ".jar", ".war", ".ear", ".apk", ".aab", ".ipa", ".vsix", ".whl", ".nupkg", ".xpi"];

/// `name` ends with the lowercase `suffix`, in any case.
fn has_suffix(name: &str, suffix: &str) -> bool {
    name.len() >= suffix.len()
        && name.as_bytes()[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

fn sniff(head: &[u8], name: &str) -> Format {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Format::Gzip;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Format::Zip { by_magic: true };
    }
    if archive::is_tar_header(head) {
        return Format::Tar;
    }
    if head.starts_with(&[0xff, 0xfe]) && !head.starts_with(&[0xff, 0xfe, 0, 0]) {
        return Format::Utf16 { big_endian: false, bom: true };
    }
    if head.starts_with(&[0xfe, 0xff]) {
        return Format::Utf16 { big_endian: true, bom: true };
    }
    if has_suffix(name, ".br") && !head.is_empty() {
        return Format::Brotli;
    }
    if ZIP_EXTENSIONS.iter().any(|e| has_suffix(name, e)) && head.len() >= 22 {
        return Format::Zip { by_magic: false };
    }
    match utf16::sniff_without_bom(head) {
        Some(big_endian) => Format::Utf16 { big_endian, bom: false },
        None => Format::Plain,
    }
}

/// One top-level file's walk: the limits, its budget and its error count.
struct Walk<'a> {
    limits: &'a Limits,
    budget: &'a Budget,
    visitor: &'a mut dyn Visitor,
    errors: usize,
}

impl Walk<'_> {
    fn error(&mut self, view: &View, message: impl Into<String>) {
        self.errors += 1;
        if self.errors <= MAX_ERRORS_PER_FILE {
            self.visitor.error(view, message.into());
        }
    }

    fn stopped(&mut self, view: &View, stop: Option<Stop>) {
        match stop {
            // Once per file, and what a reader most needs to know: always listed.
            Some(stop @ Stop::FileBytes(_)) => self.visitor.error(view, stop.to_string()),
            Some(stop) => self.error(view, stop.to_string()),
            None => {}
        }
    }

    /// Sniffs a stream and scans it through its layers.
    fn stream(
        &mut self,
        reader: &mut dyn Read,
        view: &View,
        disk: Option<&Path>,
    ) -> io::Result<()> {
        let mut head = Vec::with_capacity(HEAD);
        reader.take(HEAD as u64).read_to_end(&mut head)?;
        let mut format = sniff(&head, &view.name);
        let opens_a_layer = !matches!(format, Format::Plain | Format::Utf16 { .. });
        if opens_a_layer && view.depth >= self.limits.max_depth {
            self.error(view, Stop::Depth(self.limits.max_depth).to_string());
            format = Format::Plain;
        }
        let mut rest = io::Cursor::new(head).chain(reader);
        match format {
            Format::Gzip => self.gzip(&mut rest, view),
            Format::Brotli => self.brotli(rest, view),
            Format::Zip { by_magic } => self.zip(&mut rest, view, disk, by_magic),
            Format::Tar => self.tar(&mut rest, view),
            Format::Utf16 { big_endian, bom } => {
                let mut text = utf16::Utf8Reader::new(rest, big_endian, bom);
                self.visitor.leaf(&mut text, &view.text(Layer::Utf16))
            }
            Format::Plain => self.visitor.leaf(&mut rest, view),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_magic_first_then_by_name() {
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0], "app.js"), Format::Gzip);
        assert_eq!(sniff(b"PK\x03\x04rest", "x.bin"), Format::Zip { by_magic: true });
        assert_eq!(sniff(b"hello", "x.js.br"), Format::Brotli);
        assert_eq!(sniff(b"hello", "X.JS.BR"), Format::Brotli, "extensions in any case");
        assert_eq!(sniff(&[b'a'; 30], "App.Apk"), Format::Zip { by_magic: false });
        assert_eq!(sniff(b"hello", "br"), Format::Plain, "a name, not an extension");
        assert_eq!(sniff(b"plain text, not gzip", "x.js.gz"), Format::Plain);
        assert_eq!(
            sniff(&[0xff, 0xfe, b'a', 0], "x.txt"),
            Format::Utf16 { big_endian: false, bom: true }
        );
        assert_eq!(
            sniff(&[0xfe, 0xff, 0, b'a'], "x.txt"),
            Format::Utf16 { big_endian: true, bom: true }
        );
        assert_eq!(sniff(&[0xff, 0xfe, 0, 0], "x.txt"), Format::Plain, "UTF-32 is not UTF-16");
        assert_eq!(sniff(b"", "x.br"), Format::Plain);
    }

    #[test]
    fn views_name_their_members_and_strip_compression_suffixes() {
        let top = View::top("site.tgz");
        let gz = top.decoded(Layer::Gzip, &[".gz", ".tgz"]);
        assert_eq!((gz.name.as_str(), gz.stripped, gz.depth), ("site", 4, 1));
        let member = gz.member("package/index.js.br".into(), &Arc::from([]));
        let br = member.decoded(Layer::Brotli, &[".br"]);
        assert_eq!(br.members, vec!["package/index.js.br".to_string()]);
        assert_eq!(br.layers, vec![Layer::Gzip, Layer::Brotli]);
        assert_eq!((br.name.as_str(), br.stripped, br.depth), ("package/index.js", 3, 3));
    }
}
