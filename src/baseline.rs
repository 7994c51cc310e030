//! `--baseline FILE`: the fingerprints of an earlier JSON report, whose findings a run
//! does not report again. A fingerprint comes from rule, root-relative path and key (never
//! the line), so a baselined key stays baselined when lines move or the file is edited
//! elsewhere. Only the `findings[].fingerprint` of the report is read; any other field may
//! change between versions.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The fingerprints of an earlier report.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

#[derive(Deserialize)]
struct Wire {
    /// Absent is read as the current version: only the fingerprints matter.
    version: Option<u32>,
    findings: Vec<WireFinding>,
}

#[derive(Deserialize)]
struct WireFinding {
    fingerprint: String,
}

const HOW_TO_WRITE: &str = "write one with `pkscan scan --format json --output FILE`";

impl Baseline {
    #[cfg(test)]
    pub(crate) fn from_fingerprints(fingerprints: impl IntoIterator<Item = String>) -> Baseline {
        Baseline { fingerprints: fingerprints.into_iter().collect() }
    }

    /// Reads a JSON report written by `pkscan ... --format json --output FILE`.
    pub(crate) fn load(path: &Path) -> Result<Baseline> {
        let shown = crate::paths::display_path(path);
        let bytes = std::fs::read(path).with_context(|| format!("cannot read baseline {shown}"))?;
        Baseline::parse(&bytes).with_context(|| format!("baseline {shown}"))
    }

    /// Parses a report's bytes; the error says what is wrong, not where the file is.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Baseline> {
        let wire: Wire = match serde_json::from_slice(bytes) {
            Ok(wire) => wire,
            Err(err) => bail!(
                "is not a pkscan JSON report (line {}, column {}: {}); {HOW_TO_WRITE}",
                err.line(),
                err.column(),
                describe(&err)
            ),
        };
        if let Some(version) = wire.version.filter(|&v| v != crate::report::json::REPORT_VERSION) {
            bail!(
                "is a version {version} report; this pkscan reads version {}; {HOW_TO_WRITE}",
                crate::report::json::REPORT_VERSION
            );
        }
        let mut fingerprints = HashSet::with_capacity(wire.findings.len());
        for (index, finding) in wire.findings.into_iter().enumerate() {
            let fp = finding.fingerprint;
            if fp.len() != 64 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("findings[{index}].fingerprint is not 64 hex digits; {HOW_TO_WRITE}");
            }
            fingerprints.insert(fp.to_ascii_lowercase());
        }
        Ok(Baseline { fingerprints })
    }

    pub(crate) fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.fingerprints.len()
    }
}

/// serde_json's message without its position (given apart) and without the string it
/// choked on, which could be a secret.
fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(message, _)| message);
    for prefix in ["invalid type: string ", "invalid value: string "] {
        if let Some((_, expected)) =
            text.strip_prefix(prefix).and_then(|r| r.rsplit_once(", expected "))
        {
            return format!("expected {expected}, found a string");
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn reads_the_fingerprints_of_a_report() {
        let text = format!(
            r#"{{"version":1,"tool":{{"name":"pkscan","version":"9.9.9"}},"findings":[{{"fingerprint":"{}","future":1}},{{"fingerprint":"{}"}}],"summary":{{}},"errors":[]}}"#,
            fp('a'),
            fp('B')
        );
        let baseline = Baseline::parse(text.as_bytes()).unwrap();
        assert_eq!(baseline.len(), 2);
        assert!(baseline.contains(&fp('a')) && baseline.contains(&fp('b')));
        assert!(!baseline.contains(&fp('c')));
        let bare = format!(r#"{{"findings":[{{"fingerprint":"{}"}}]}}"#, fp('c'));
        assert!(Baseline::parse(bare.as_bytes()).unwrap().contains(&fp('c')));
    }

    #[test]
    fn refuses_what_is_not_a_report() {
        let err = |text: &str| format!("{:#}", Baseline::parse(text.as_bytes()).unwrap_err());
        assert_eq!(
            err("{\"version\": 1,"),
            "is not a pkscan JSON report (line 1, column 14: EOF while parsing a value); \
             write one with `pkscan scan --format json --output FILE`"
        );
        assert_eq!(
            err(r#"{"$schema":"x","version":"2.1.0","runs":[]}"#),
            "is not a pkscan JSON report (line 1, column 32: expected u32, found a string); \
             write one with `pkscan scan --format json --output FILE`"
        );
        assert_eq!(
            err(r#"{"version":2,"findings":[]}"#),
            "is a version 2 report; this pkscan reads version 1; \
             write one with `pkscan scan --format json --output FILE`"
        );
        assert_eq!(
            err(r#"{"version":1,"findings":[{"fingerprint":"pk_8e1f"}]}"#),
            "findings[0].fingerprint is not 64 hex digits; \
             write one with `pkscan scan --format json --output FILE`"
        );
        let leaked = err(r#"{"version":1,"findings":[{"fingerprint":7}],"x":"#);
        assert!(!leaked.contains("pk_"), "{leaked}");
    }
}
