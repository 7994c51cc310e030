//! Source maps on disk, for findings that need them: after a scan, a finding in a source
//! map (`.map`) or in a script or style whose `sourceMappingURL` names a map beside it
//! (or inlines one as a `data:` URL) gains its `original` position. Each such file and
//! its map are read once, whole but bounded by the member limit; a map that is too large
//! or cannot be parsed is an `errors` entry, never a failed scan.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::decode::limits::Limits;
use rayon::prelude::*;

use crate::finding::{Finding, Original, ScanError};
use crate::original::{self, Map};

/// Extensions of files whose `sourceMappingURL` comment is followed.
const BUNDLE_EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "css"];

/// Where the files that findings name are read from: the disk, a commit's tree, the
/// index. Every read is bounded by the member limit.
pub(crate) trait Files: Sync {
    /// The file a finding is in (`commit`: the finding's commit id, if it has one);
    /// `None` when it cannot be read, which the scan that just read it has reported.
    fn finding_file(&self, commit: Option<&str>, path: &str) -> Option<Vec<u8>>;
    /// The source map at `path`, which a bundle names as beside it. `Ok(None)`: not there,
    /// and that is no error here; `Err(why)`: there but not readable.
    fn map_file(&self, commit: Option<&str>, path: &str) -> Result<Option<Vec<u8>>, String>;
}

/// The files of findings made on disk.
struct Disk<'a> {
    limits: &'a Limits,
}

impl Files for Disk<'_> {
    fn finding_file(&self, _: Option<&str>, path: &str) -> Option<Vec<u8>> {
        read_bounded(Path::new(path), self.limits).ok()
    }

    /// A map named beside a bundle on disk is expected there: its absence is an error.
    fn map_file(&self, _: Option<&str>, path: &str) -> Result<Option<Vec<u8>>, String> {
        read_bounded(Path::new(path), self.limits).map(Some)
    }
}

/// Adds `original` to the findings of files on disk that a source map explains. Files are
/// read in parallel, each once, whatever its number of findings.
pub(crate) fn resolve(
    findings: &mut [Finding],
    errors: &mut Vec<ScanError>,
    limits: &Limits,
    threads: usize,
) {
    let on_disk = |f: &Finding| f.commit.is_none() && f.path != "<stdin>";
    resolve_with(&Disk { limits }, findings, errors, threads, &on_disk);
}

/// Adds `original` to the `wanted` findings of bundles and maps that `files` reads, in
/// parallel over `threads`, each (commit, file) read once. A map that cannot be read is
/// an `errors` entry, given once.
pub(crate) fn resolve_with(
    files: &dyn Files,
    findings: &mut [Finding],
    errors: &mut Vec<ScanError>,
    threads: usize,
    wanted: &(dyn Fn(&Finding) -> bool + Sync),
) {
    let mut by_file: BTreeMap<(Option<&str>, &str), Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        // A member of an archive ('!') has no file of its own to read.
        if wanted(f) && !f.path.contains('!') && kind(&f.path).is_some() {
            let commit = f.commit.as_ref().map(|c| c.id.as_str());
            by_file.entry((commit, &f.path)).or_default().push(i);
        }
    }
    if by_file.is_empty() {
        return;
    }
    let place_all = || -> Vec<(Vec<usize>, Placed)> {
        by_file
            .into_par_iter()
            .map(|((commit, path), indices)| {
                let positions: Vec<(u64, u64)> =
                    indices.iter().map(|&i| (findings[i].line, findings[i].column)).collect();
                let placed = place(files, commit, path, &positions);
                (indices, placed)
            })
            .collect()
    };
    // As many threads as the scan had (`--threads`); rayon's own pool if none can be made.
    let work = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(place_all),
        Err(_) => place_all(),
    };
    for (indices, placed) in work {
        match placed {
            Ok(originals) => {
                for (i, original) in indices.into_iter().zip(originals) {
                    findings[i].original = original;
                }
            }
            Err(error) => {
                if !errors.iter().any(|e| e.path == error.path && e.message == error.message) {
                    errors.push(error);
                }
            }
        }
    }
}

/// The originals of a file's findings, in their order (none when it names no map), or why
/// its map could not be read.
type Placed = Result<Vec<Option<Original>>, ScanError>;

/// The originals of the keys at `positions` (line, column) of the file at `path`.
fn place(files: &dyn Files, commit: Option<&str>, path: &str, positions: &[(u64, u64)]) -> Placed {
    let Some(bytes) = files.finding_file(commit, path) else {
        return Ok(Vec::new());
    };
    if kind(path) == Some(Kind::Map) {
        let map = Map::parse(&bytes).map_err(|why| ScanError::new(path, why))?;
        let place = |&(line, column)| {
            let at = original::offset_of(&bytes, line, column)?;
            original::in_sources_content(&map, &bytes, at)
        };
        return Ok(positions.iter().map(place).collect());
    }
    match bundle_map(files, commit, path, &bytes) {
        Ok(Some(map)) => Ok(positions
            .iter()
            .map(|&(line, column)| map.original_of(&bytes, line, column))
            .collect()),
        Ok(None) => Ok(Vec::new()),
        Err((map_path, why)) => Err(ScanError::new(map_path, why)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Bundle,
}

fn kind(path: &str) -> Option<Kind> {
    let extension = path.rsplit_once('.').map_or("", |(_, e)| e).to_ascii_lowercase();
    match extension.as_str() {
        "map" => Some(Kind::Map),
        e if BUNDLE_EXTENSIONS.contains(&e) => Some(Kind::Bundle),
        _ => None,
    }
}

/// The map a bundle's `sourceMappingURL` names: inline, or a file beside it. `Ok(None)`
/// when it names none, one elsewhere (a URL) or one `files` does not have;
/// `Err((path, why))` when it cannot be read.
fn bundle_map(
    files: &dyn Files,
    commit: Option<&str>,
    bundle: &str,
    bytes: &[u8],
) -> Result<Option<Map>, (String, String)> {
    let Some(url) = original::source_mapping_url(bytes) else {
        return Ok(None);
    };
    if original::is_data_url(url) {
        return Map::from_data_url(url).map(Some).map_err(|why| (bundle.to_string(), why));
    }
    let Some(map_path) = beside(bundle, url) else {
        return Ok(None);
    };
    match files.map_file(commit, &map_path) {
        Ok(Some(map)) => Map::parse(&map).map(Some).map_err(|why| (map_path, why)),
        Ok(None) => Ok(None),
        Err(why) => Err((map_path, why)),
    }
}

/// The file a relative `sourceMappingURL` names, next to the bundle, resolved as a URL is
/// (`.` and `..` by name; `..` stops at the root); `None` for a URL with a scheme or an
/// absolute path, which only `pkscan url` can follow.
fn beside(bundle: &str, url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    if url.is_empty() || url.starts_with('/') || url.contains(':') {
        return None;
    }
    let folder = bundle.rsplit_once('/').map_or("", |(folder, _)| folder);
    // A leading '/' (an absolute bundle path) is kept as an empty first part.
    let mut parts: Vec<&str> =
        if folder.is_empty() { Vec::new() } else { folder.split('/').collect() };
    let root = usize::from(parts.first() == Some(&""));
    for part in url.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                if parts.len() > root && parts.last() != Some(&"..") {
                    parts.pop();
                } else if root == 0 {
                    parts.push("..");
                }
            }
            name => parts.push(name),
        }
    }
    Some(parts.join("/"))
}

/// The whole file, when it is no larger than the member limit.
fn read_bounded(path: &Path, limits: &Limits) -> Result<Vec<u8>, String> {
    let file = File::open(path).map_err(|e| format!("source map: {}", describe(&e)))?;
    let too_large = || {
        format!(
            "source map not read: larger than the member limit ({} bytes)",
            limits.max_member_bytes
        )
    };
    if file.metadata().is_ok_and(|m| m.len() > limits.max_member_bytes) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limits.max_member_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("source map: {}", describe(&e)))?;
    if bytes.len() as u64 > limits.max_member_bytes {
        return Err(too_large());
    }
    Ok(bytes)
}

fn describe(err: &std::io::Error) -> String {
    crate::sanitize::describe_io_error(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_beside_a_bundle_is_resolved_by_name_as_urls_are() {
        assert_eq!(beside("dist/app.js", "app.js.map").as_deref(), Some("dist/app.js.map"));
        assert_eq!(beside("app.js", "./app.js.map?v=2#x").as_deref(), Some("app.js.map"));
        assert_eq!(
            beside("a/b/app.js", "../maps/app.js.map").as_deref(),
            Some("a/maps/app.js.map")
        );
        assert_eq!(beside("app.js", "../app.js.map").as_deref(), Some("../app.js.map"));
        assert_eq!(beside("../x/app.js", "../../m.map").as_deref(), Some("../../m.map"));
        assert_eq!(beside("/srv/app.js", "../../m.map").as_deref(), Some("/m.map"));
        assert_eq!(beside("dist/app.js", "https://cdn.example/app.js.map"), None);
        assert_eq!(beside("dist/app.js", "/app.js.map"), None);
        assert_eq!(beside("dist/app.js", ""), None);
    }
}
