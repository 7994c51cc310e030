//! Source maps on disk, for findings that need them: after a scan, a finding in a source
//! map (`.map`) or in a script or style whose `sourceMappingURL` names a map beside it
//! (or inlines one as a `data:` URL) gains its `original` position. Each such file and
//! its map are read once, whole but bounded by the member limit; a map that is too large
//! or cannot be parsed is an `errors` entry, never a failed scan.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::decode::limits::Limits;
use rayon::prelude::*;

use crate::finding::{Finding, Original, ScanError};
use crate::original::{self, Map};

/// Extensions of files whose `sourceMappingURL` comment is followed.
const BUNDLE_EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "css"];

/// Adds `original` to the findings of files on disk that a source map explains. Files are
/// read in parallel, each once, whatever its number of findings.
pub(crate) fn resolve(
    findings: &mut [Finding],
    errors: &mut Vec<ScanError>,
    limits: &Limits,
    threads: usize,
) {
    let mut by_path: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.commit.is_none()
            && !f.path.contains('!')
            && f.path != "<stdin>"
            && kind(&f.path).is_some()
        {
            by_path.entry(&f.path).or_default().push(i);
        }
    }
    if by_path.is_empty() {
        return;
    }
    let place_all = || -> Vec<(Vec<usize>, Placed)> {
        by_path
            .into_par_iter()
            .map(|(path, indices)| {
                let positions: Vec<(u64, u64)> =
                    indices.iter().map(|&i| (findings[i].line, findings[i].column)).collect();
                let placed = place(path, &positions, limits);
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
            Err(error) => errors.push(error),
        }
    }
}

/// The originals of a file's findings, in their order (none when it names no map), or why
/// its map could not be read.
type Placed = Result<Vec<Option<Original>>, ScanError>;

/// The originals of the keys at `positions` (line, column) of the file at `path`.
fn place(path: &str, positions: &[(u64, u64)], limits: &Limits) -> Placed {
    let file = Path::new(path);
    let Ok(bytes) = read_bounded(file, limits) else {
        // Reported by the scan that just read it, if it failed there.
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
    match bundle_map(file, &bytes, limits) {
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
/// when it names none or one elsewhere (a URL); `Err((path, why))` when it cannot be read.
fn bundle_map(
    bundle: &Path,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Option<Map>, (String, String)> {
    let Some(url) = original::source_mapping_url(bytes) else {
        return Ok(None);
    };
    let shown = bundle.display().to_string();
    if original::is_data_url(url) {
        return Map::from_data_url(url).map(Some).map_err(|why| (shown, why));
    }
    let Some(map_path) = beside(bundle, url) else {
        return Ok(None);
    };
    let shown = crate::paths::display_path(&map_path);
    let map = read_bounded(&map_path, limits).map_err(|why| (shown.clone(), why))?;
    Map::parse(&map).map(Some).map_err(|why| (shown, why))
}

/// The file a relative `sourceMappingURL` names, next to the bundle; `None` for a URL
/// with a scheme or an absolute path, which only `pkscan url` can follow.
fn beside(bundle: &Path, url: &str) -> Option<PathBuf> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    if url.is_empty() || url.starts_with('/') || url.contains(':') {
        return None;
    }
    Some(bundle.parent().unwrap_or(Path::new("")).join(url))
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
