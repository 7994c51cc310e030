//! Containers: the zip family (`.zip .jar .war .apk .aab .ipa .vsix .whl .nupkg`, or any
//! file starting with a local header) and tar (plain, or inside gzip as npm's `.tgz`).
//!
//! Each member is scanned as a stream of its own, named `outer!member`, sniffed again (so
//! a `.jar` in an `.apk` or a `.js.gz` in a tarball is opened too) and read under the
//! limits. A zip on disk is read through its central directory by seeking the file; a
//! nested zip is read into memory, which its member limit bounds. A zip whose central
//! directory is missing or broken (truncated downloads) is read again from its local
//! headers, so whatever is intact is still scanned.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use zip::ZipArchive;

use crate::detect::asset::is_android_manifest;

use super::limits::{describe, Bounded, Counting, Input, Stop};
use super::{View, Walk};

/// Offset of the `ustar` magic in a tar header.
const USTAR_AT: usize = 257;

/// Is `head` the start of a tar archive: a POSIX/GNU header, or an old-style header
/// whose checksum holds?
pub(super) fn is_tar_header(head: &[u8]) -> bool {
    if head.len() < 512 {
        return false;
    }
    if head[USTAR_AT..].starts_with(b"ustar") {
        return true;
    }
    let field = &head[148..156];
    let digits: Vec<u8> = field.iter().copied().filter(|b| (b'0'..=b'7').contains(b)).collect();
    let Some(stated) =
        std::str::from_utf8(&digits).ok().and_then(|s| u32::from_str_radix(s, 8).ok())
    else {
        return false;
    };
    let sum: u32 = head[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { u32::from(b' ') } else { u32::from(b) })
        .sum();
    head[0] != 0 && digits.len() >= 6 && sum == stated
}

/// A member name as findings show it: invalid UTF-8 bytes as `\xNN`.
fn member_name(raw: &[u8]) -> String {
    let mut text = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("\\x{b:02x}"));
        }
    }
    text
}

impl Walk<'_> {
    pub(super) fn zip(
        &mut self,
        reader: &mut dyn Read,
        view: &View,
        disk: Option<&Path>,
        by_magic: bool,
    ) -> io::Result<()> {
        if let Some(mut file) = disk.and_then(open_regular_file) {
            if !by_magic && ZipArchive::new(&mut file).is_err() {
                return self.visitor.leaf(reader, view);
            }
            self.zip_seekable(&mut file, view);
            return Ok(());
        }
        // Not seekable: hold the archive in memory, within the member limit.
        let mut bytes = Vec::new();
        let cap = self.limits.max_member_bytes;
        reader.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
        let mut cursor = io::Cursor::new(bytes);
        if !by_magic && ZipArchive::new(&mut cursor).is_err() {
            cursor.set_position(0);
            return self.visitor.leaf(&mut cursor.chain(reader), view);
        }
        if cursor.get_ref().len() as u64 > cap {
            cursor.get_mut().truncate(cap as usize);
            self.error(view, Stop::MemberBytes(cap).to_string());
        }
        self.zip_seekable(&mut cursor, view);
        Ok(())
    }

    fn zip_seekable<R: Read + Seek>(&mut self, reader: &mut R, view: &View) {
        reader.rewind().ok();
        // Ratios are measured against the compressed bytes a member has consumed, so a
        // bomb stops after its first MiB rather than at its stated compressed size.
        let (mut counting, consumed) = Counting::new(&mut *reader);
        match ZipArchive::new(&mut counting) {
            Ok(mut archive) => self.zip_members(&mut archive, view, &consumed),
            Err(err) => {
                if let Err(err) = reader.rewind() {
                    return self
                        .error(view, format!("cannot read zip archive: {}", describe(&err)));
                }
                let mut counted = 0;
                let outcome = self.zip_stream(reader, view, &mut counted);
                let detail = match outcome {
                    Err(e) if counted == 0 => format!(" ({e})"),
                    _ => String::new(),
                };
                self.error(
                    view,
                    format!(
                        "corrupt zip archive: {err}{detail}; {counted} members read from local \
                         headers"
                    ),
                );
            }
        }
    }

    fn zip_members<R: Read + Seek>(
        &mut self,
        archive: &mut ZipArchive<R>,
        view: &View,
        consumed: &Rc<Cell<u64>>,
    ) {
        // The directory names every member up front, so each member sees every manifest.
        let manifests: Arc<[String]> = (0..archive.len().min(self.limits.max_members as usize))
            .filter_map(|index| archive.name_for_index(index))
            .filter(|name| is_android_manifest(name))
            .map(|name| member_name(name.as_bytes()))
            .collect();
        for index in 0..archive.len() {
            if index as u64 >= self.limits.max_members {
                return self.error(view, Stop::Members(self.limits.max_members).to_string());
            }
            if self.budget.is_spent() {
                return;
            }
            let name = archive.name_for_index(index).map(|n| member_name(n.as_bytes()));
            match archive.by_index(index) {
                Ok(file) => {
                    if file.is_dir() {
                        continue;
                    }
                    let name = member_name(file.name_raw());
                    let input = Input::Counted(Rc::clone(consumed), consumed.get());
                    self.member(file, view.member(name, &manifests), input);
                }
                Err(err) => {
                    let name = name.unwrap_or_else(|| format!("#{index}"));
                    let member = view.member(name, &manifests);
                    self.error(&member, format!("cannot read zip member: {err}"));
                }
            }
        }
    }

    /// Reads members from their local headers, for archives without a usable directory.
    fn zip_stream<R: Read>(
        &mut self,
        reader: &mut R,
        view: &View,
        counted: &mut u64,
    ) -> Result<(), zip::result::ZipError> {
        let mut manifests = SeenManifests::default();
        loop {
            if *counted >= self.limits.max_members || self.budget.is_spent() {
                return Ok(());
            }
            let Some(file) = zip::read::read_zipfile_from_stream(reader)? else {
                return Ok(());
            };
            *counted += 1;
            if file.is_dir() {
                continue;
            }
            let name = member_name(file.name_raw());
            let compressed = file.compressed_size();
            let member = view.member(name.clone(), manifests.after(&name));
            self.member(file, member, Input::Known(compressed));
        }
    }

    /// Scans one member under the limits and reports why it stopped early, if it did.
    fn member(&mut self, reader: impl Read, view: View, input: Input) {
        let mut stream =
            Bounded::new(reader, "corrupt archive member", input, self.limits, self.budget);
        if let Err(err) = self.stream(&mut stream, &view, None) {
            self.error(&view, describe(&err));
        }
        self.stopped(&view, stream.into_stop());
    }

    pub(super) fn tar(&mut self, reader: &mut dyn Read, view: &View) -> io::Result<()> {
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(err) => {
                self.error(view, format!("corrupt tar archive: {}", describe(&err)));
                return Ok(());
            }
        };
        let mut count = 0u64;
        let mut manifests = SeenManifests::default();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    if !self.budget.is_spent() {
                        self.error(view, format!("corrupt tar archive: {}", describe(&err)));
                    }
                    break;
                }
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            count += 1;
            if count > self.limits.max_members {
                self.error(view, Stop::Members(self.limits.max_members).to_string());
                break;
            }
            if self.budget.is_spent() {
                break;
            }
            let name = member_name(&entry.path_bytes());
            let member = view.member(name.clone(), manifests.after(&name));
            self.member(entry, member, Input::Unmeasured);
        }
        Ok(())
    }
}

/// The `AndroidManifest.xml` members met so far in an archive read member by member: a
/// member before its module's manifest cannot be told from server code, since the archive
/// is not read twice.
#[derive(Default)]
struct SeenManifests {
    names: Vec<String>,
    shared: Arc<[String]>,
}

impl SeenManifests {
    /// Notes `name` if it is a manifest; returns the manifests met so far.
    fn after(&mut self, name: &str) -> &Arc<[String]> {
        if is_android_manifest(name) {
            self.names.push(name.to_string());
            self.shared = Arc::from(self.names.as_slice());
        }
        &self.shared
    }
}

/// The file at `path`, if it is a regular file that can be opened (never a FIFO, which
/// a second open would block on).
fn open_regular_file(path: &Path) -> Option<File> {
    let file = File::open(path).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_headers_by_magic_or_checksum() {
        let mut header = tar::Header::new_gnu();
        header.set_path("a.txt").unwrap();
        header.set_size(0);
        header.set_cksum();
        assert!(is_tar_header(header.as_bytes()));
        let mut old = tar::Header::new_old();
        old.set_path("a.txt").unwrap();
        old.set_size(0);
        old.set_cksum();
        assert!(is_tar_header(old.as_bytes()));
        assert!(!is_tar_header(&[b'a'; 512]));
        assert!(!is_tar_header(b"short"));
    }

    #[test]
    fn member_names_escape_invalid_utf8() {
        assert_eq!(member_name(b"dir/a\xffb.js"), "dir/a\\xffb.js");
    }
}
