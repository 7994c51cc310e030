//! `original` positions in `pkscan url`: a finding in a fetched source map is placed in its
//! `sourcesContent`; a finding in a script or style waits for the map it names (a
//! `sourceMappingURL` comment or a `SourceMap` header), which the crawl fetches next, and
//! is placed through that map's mappings. An inline `data:` map is read at once. Each map
//! is parsed once, and only when a finding needs it.

use std::collections::HashMap;
use std::sync::Mutex;

use url::Url;

use crate::finding::{Finding, Original};
use crate::original::{self, Map};

use super::scope;

/// A finding of a script, waiting for its map: where it is, and where the map counts it.
struct Pending {
    path: String,
    line: u64,
    column: u64,
    generated: (u32, u32),
}

/// What the crawl's workers share about source maps.
#[derive(Default)]
pub(super) struct Maps {
    /// Map URL -> findings of the scripts that name it.
    pending: Mutex<HashMap<String, Vec<Pending>>>,
    /// (path, line, column) -> original, applied to the findings when the crawl ends.
    resolved: Mutex<HashMap<(String, u64, u64), Original>>,
}

impl Maps {
    /// Called with a fetched body and the findings just made from it; returns why a map
    /// it needed could not be read, for the body's `errors` entry.
    pub(super) fn after_scan(
        &self,
        url: &Url,
        body: &[u8],
        header: Option<&str>,
        is_script: bool,
        found: &[Finding],
    ) -> Option<String> {
        let waiting = self.lock_pending().remove(url.as_str()).unwrap_or_default();
        let is_map = url.path().to_ascii_lowercase().ends_with(".map");
        if (is_map && !found.is_empty()) || !waiting.is_empty() {
            match Map::parse(body) {
                Ok(map) => {
                    for f in found {
                        let at = original::offset_of(body, f.line, f.column);
                        let place = at.and_then(|at| original::in_sources_content(&map, body, at));
                        self.resolve(f.path.clone(), f.line, f.column, place);
                    }
                    for p in waiting {
                        self.resolve(p.path, p.line, p.column, map.original_at(p.generated));
                    }
                }
                Err(why) => return Some(why),
            }
            return None;
        }
        if !is_script || found.is_empty() {
            return None;
        }
        let reference = header.or_else(|| original::source_mapping_url(body))?;
        if original::is_data_url(reference) {
            match Map::from_data_url(reference) {
                Ok(map) => {
                    for f in found {
                        let place = map.original_of(body, f.line, f.column);
                        self.resolve(f.path.clone(), f.line, f.column, place);
                    }
                }
                Err(why) => return Some(why),
            }
            return None;
        }
        let map_url = url.join(reference.trim()).ok()?;
        let mut pending = self.lock_pending();
        let list = pending.entry(scope::canonical(&map_url).to_string()).or_default();
        for f in found {
            if let Some(generated) = original::generated_position(body, f.line, f.column) {
                list.push(Pending {
                    path: f.path.clone(),
                    line: f.line,
                    column: f.column,
                    generated,
                });
            }
        }
        None
    }

    fn resolve(&self, path: String, line: u64, column: u64, place: Option<Original>) {
        if let Some(place) = place {
            let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
            resolved.insert((path, line, column), place);
        }
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Pending>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives the findings the originals found for them.
    pub(super) fn apply(self, findings: &mut [Finding]) {
        let resolved = self.resolved.into_inner().unwrap_or_else(|p| p.into_inner());
        if resolved.is_empty() {
            return;
        }
        for f in findings {
            let place = (f.path.clone(), f.line, f.column);
            if let Some(original) = resolved.get(&place) {
                f.original = Some(original.clone());
            }
        }
    }
}
