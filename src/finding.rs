//! The nouns every stage shares: a [`Finding`], its [`Severity`], the [`Secret`] it
//! carries (redacted unless asked), the decoding [`Layer`]s it was seen through, and the
//! [`Report`] a scan produces. Nothing here does I/O or knows about output formats.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses `critical|high|medium|low`; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoding layer a key (or the context that decided its rule) was seen through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    Percent,
    Json,
    Html,
    Base64,
    #[serde(rename = "utf-16")]
    Utf16,
    Gzip,
    Brotli,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Percent => "percent",
            Layer::Json => "json",
            Layer::Html => "html",
            Layer::Base64 => "base64",
            Layer::Utf16 => "utf-16",
            Layer::Gzip => "gzip",
            Layer::Brotli => "brotli",
        }
    }
}

/// A secret value. `Debug` and `Display` never show it; only [`Secret::expose`] does,
/// and only the report layer calls that, under `--show-secrets`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Secret(String, Option<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into(), None)
    }

    /// A secret read back from a redacted report (`pkscan merge`): only its redaction and
    /// its SHA-256 are known, and [`Secret::expose`] gives the redaction.
    pub fn sealed(redacted: impl Into<String>, sha256_hex: impl Into<String>) -> Secret {
        Secret(redacted.into(), Some(sha256_hex.into()))
    }

    /// The raw value (the redaction of a [`Secret::sealed`] one). Callers decide whether
    /// the user asked to see it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `pk_` + first 4 + `…` + last 2 for Klaviyo keys; first 4 + `…` + last 2 for other
    /// secrets of 12 characters or more; `…` alone for shorter ones.
    pub fn redacted(&self) -> String {
        if self.1.is_some() {
            return self.0.clone();
        }
        let chars: Vec<char> = self.0.chars().collect();
        let (prefix, body) = match self.0.strip_prefix("pk_") {
            Some(_) => ("pk_", &chars[3..]),
            None => ("", &chars[..]),
        };
        if chars.len() < 12 {
            return "…".to_string();
        }
        let head: String = body.iter().take(4).collect();
        let tail: String = body[body.len().saturating_sub(2)..].iter().collect();
        format!("{prefix}{head}…{tail}")
    }

    /// Lowercase hex SHA-256 of the raw value: safe to publish, used by allowlists.
    pub fn sha256_hex(&self) -> String {
        match &self.1 {
            Some(sealed) => sealed.clone(),
            None => hex::encode(Sha256::digest(self.0.as_bytes())),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The text of a line around a key: the key is inside it unredacted, so its `Debug` shows
/// only its length, and printers go through [`LineText::expose`] to redact it themselves.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct LineText(String);

impl LineText {
    pub fn new(text: impl Into<String>) -> LineText {
        LineText(text.into())
    }

    /// The raw line, key included. Callers redact before showing it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LineText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LineText(<{} bytes, withheld>)", self.0.len())
    }
}

/// The commit that introduced a finding (git mode only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub id: String,
    pub author_name: String,
    pub author_email: String,
    /// Author date, RFC 3339.
    pub date: String,
    pub summary: String,
}

/// One leaked key at one place.
#[derive(Clone, Debug)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    /// As the user named it, `/`-separated; `outer!inner` for container members.
    pub path: String,
    /// The path relative to the repository root (or scanned root): what fingerprints use.
    pub root_relative_path: String,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    pub secret: Secret,
    pub decoded: Vec<Layer>,
    pub message: String,
    pub commit: Option<CommitInfo>,
    /// What Klaviyo said about the key (`--verify` only).
    pub verification: Option<Verification>,
    /// The text of the line around the key, for allowlist regexes and text snippets.
    /// Bounded in length; the key itself is inside it unredacted, so never print it raw
    /// (its `Debug` withholds it).
    pub line_text: LineText,
    /// Where the key was written, through a source map (bundles and maps only).
    pub original: Option<Original>,
    /// The repository it is in, as listed (`pkscan repos` and `merge` only).
    pub repository: Option<String>,
    /// The fingerprint a report read back recorded (`pkscan merge`), whose key may be
    /// redacted and so cannot be hashed again.
    pub recorded_fingerprint: Option<String>,
}

/// A key's place in the source a bundler started from, as a source map tells it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Original {
    /// The source as the map names it (`webpack://app/./pages/_app.tsx`).
    pub source: String,
    /// 1-based line and column (code points) of the key's first character there.
    pub line: u64,
    pub column: u64,
}

impl Finding {
    /// Stable id from rule, root-relative path, key and (in `repos`) repository: survives
    /// moved lines and commits.
    pub fn fingerprint(&self) -> String {
        if let Some(recorded) = &self.recorded_fingerprint {
            return recorded.clone();
        }
        let fp = fingerprint(&self.rule_id, &self.root_relative_path, self.secret.expose());
        match &self.repository {
            Some(repository) => fingerprint(&fp, repository, ""),
            None => fp,
        }
    }

    /// The order of the contract: path, line, column, rule id.
    pub fn sort_key(&self) -> (&str, u64, u64, &str) {
        (&self.path, self.line, self.column, &self.rule_id)
    }
}

/// The fingerprint of a finding: hex SHA-256 over rule id, path and key.
pub(crate) fn fingerprint(rule_id: &str, root_relative_path: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [rule_id, root_relative_path, key] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

/// What Klaviyo's accounts endpoint said about a key. Ordered as reports list them: live
/// keys first, then those that could not be checked, then rejected ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerificationStatus {
    /// The key authenticated (HTTP 200, or 403: it works but lacks `accounts:read`).
    Live,
    /// No answer that settles it (429, 5xx, timeout, network error): treat it as live.
    Unknown,
    /// Klaviyo rejected the key (HTTP 401 or 400).
    Invalid,
}

impl VerificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Live => "live",
            VerificationStatus::Unknown => "unknown",
            VerificationStatus::Invalid => "invalid",
        }
    }
}

/// The outcome of checking one key, shared by every finding of that key. Holds no key:
/// `detail` is scrubbed of it before it gets here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub status: VerificationStatus,
    /// The account's public key (site ID): what belongs where a private key was pasted.
    pub public_api_key: Option<String>,
    pub account_id: Option<String>,
    pub account_name: Option<String>,
    /// When the answer came, RFC 3339 (UTC).
    pub checked_at: String,
    /// What was asked and answered, in a sentence (`HTTP 401 not_authenticated`...).
    pub detail: String,
}

/// Counts of a `--verify` run: distinct keys by outcome, and findings left out by
/// `--verify-only-live`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationSummary {
    pub keys_checked: u64,
    pub live: u64,
    pub unknown: u64,
    pub invalid: u64,
    pub hidden: u64,
}

/// Something that could not be read or was cut short; never silently dropped.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScanError {
    pub path: String,
    pub message: String,
}

impl ScanError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ScanError {
        ScanError { path: path.into(), message: message.into() }
    }
}

/// Counters of a run. Optional fields appear only in the modes that have them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub findings: u64,
    pub baselined: u64,
    pub allowed: u64,
    pub skipped: u64,
    pub errors: u64,
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub history_partial: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub urls_fetched: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub urls_skipped: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verification: Option<VerificationSummary>,
}

/// A public key (site ID: 6 alphanumerics) seen in a public-key slot, at its first place.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKeySeen {
    pub id: String,
    pub path: String,
    pub line: u64,
}

/// Where a key's replacement public key came from: Klaviyo's answer (authoritative) or
/// the one public key the run saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicKeySource {
    Verify,
    Seen,
}

/// The public key to put where a private key was misplaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicApiKey {
    pub id: String,
    pub source: PublicKeySource,
}

/// How a key sits in a repository's history (`git` only): computed from the trees the
/// history walk read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyHistory {
    /// The earliest commit that introduced the key at any of its paths (ancestry first,
    /// then author date, then id).
    pub introduced: Option<CommitInfo>,
    /// When not in HEAD: the newest commit on HEAD's first-parent chain whose tree lacks
    /// the key while its first parent's tree holds it.
    pub removed: Option<CommitInfo>,
    /// HEAD's tree holds the key at some path (false on an unborn HEAD).
    pub in_head: bool,
    /// Every ref (full name, sorted) whose tip commit's tree holds the key.
    pub refs: Vec<String>,
}

/// What a history source learned about one key before findings are suppressed; the
/// report's [`KeyHistory`] is made from it once the reported findings are known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Exposure {
    pub in_head: bool,
    pub removed: Option<CommitInfo>,
    pub refs: Vec<String>,
    /// Ids of the commits that introduced the key at some path, best first (each has no
    /// other of the list after it among its ancestors; then author date, then id).
    pub introductions: Vec<String>,
}

/// One leaked key: what a person acts on. One per distinct built-in key among the
/// reported findings, sorted by severity (most severe first), then `secret_sha256`.
#[derive(Clone, Debug)]
pub struct Key {
    pub secret: Secret,
    /// The highest of its findings' severities.
    pub severity: Severity,
    /// Its findings' rule ids, sorted and distinct.
    pub rules: Vec<String>,
    /// Its findings' fingerprints, in report order.
    pub findings: Vec<String>,
    /// `git` only.
    pub history: Option<KeyHistory>,
    pub public_api_key: Option<PublicApiKey>,
    /// The same list on every key of a run: [`Report::public_keys_seen`].
    pub public_keys_seen: Vec<PublicKeySeen>,
    /// `--verify` only.
    pub verification: Option<Verification>,
    /// The steps, in order, that un-leak this key. Never holds the key itself.
    pub fix: Vec<String>,
    /// The repositories it is in, sorted (`pkscan repos` and `merge` only, else empty).
    pub repositories: Vec<String>,
}

/// Everything a run found, sorted and counted, ready for a printer.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    pub summary: Summary,
    /// One entry per leaked key, built from `findings` once they are final.
    pub keys: Vec<Key>,
    /// Public keys seen in public-key slots, each once at its first place, sorted by id.
    pub public_keys_seen: Vec<PublicKeySeen>,
    /// `pkscan url` only: the URLs found but not requested, keys redacted.
    pub skipped_urls: Option<Vec<String>>,
}

impl Report {
    /// Sorts findings and errors into the contract's order, drops exact duplicates and
    /// brings the summary's counts in line. Called once, before printing.
    pub fn finish(&mut self) {
        // In git mode two keys can sit at the same place in different commits: the key
        // and the commit break ties, so order and dedup stay exact.
        let tie =
            |f: &Finding| (f.secret.expose().to_string(), f.commit.as_ref().map(|c| c.id.clone()));
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()).then_with(|| tie(a).cmp(&tie(b))));
        self.findings.dedup_by(|a, b| a.sort_key() == b.sort_key() && tie(a) == tie(b));
        self.errors.sort();
        self.errors.dedup();
        self.summary.findings = self.findings.len() as u64;
        self.summary.errors = self.errors.len() as u64;
    }

    /// The most severe finding, if any.
    pub fn worst_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_klaviyo_keys_to_prefix_four_and_two() {
        let secret = Secret::new(format!("pk_3f9a{}4b", "0".repeat(28)));
        assert_eq!(secret.redacted(), "pk_3f9a…4b");
        assert_eq!(format!("{secret}"), "pk_3f9a…4b");
        assert_eq!(format!("{secret:?}"), "Secret(pk_3f9a…4b)");
    }

    #[test]
    fn a_report_in_debug_form_holds_no_full_key() {
        let key = format!("pk_3f9a{}4b", "0".repeat(28));
        let finding = Finding {
            rule_id: "klaviyo-private-key".into(),
            severity: Severity::High,
            path: "a.env".into(),
            root_relative_path: "a.env".into(),
            line: 1,
            column: 5,
            end_line: 1,
            end_column: 42,
            secret: Secret::new(key.clone()),
            decoded: vec![],
            message: String::new(),
            commit: None,
            verification: None,
            line_text: LineText::new(format!("KEY={key} # and {key}")),
            original: None,
            repository: None,
            recorded_fingerprint: None,
        };
        let mut report = Report { findings: vec![finding], ..Report::default() };
        crate::report::keys::build(&mut report, None);
        assert_eq!(report.keys.len(), 1, "the report has a key to show");
        let shown = format!("{report:?}");
        assert!(!shown.contains(&key), "{shown}");
        assert!(!shown.contains(&key[3..]), "{shown}");
        assert!(shown.contains("LineText(<"), "{shown}");
    }

    #[test]
    fn redacts_other_secrets_by_length() {
        assert_eq!(Secret::new("acme_live_abcdef").redacted(), "acme…ef");
        assert_eq!(Secret::new("short").redacted(), "…");
        assert_eq!(Secret::new("elevenchars").redacted(), "…");
    }

    #[test]
    fn fingerprint_depends_on_rule_path_and_key_only() {
        let a = fingerprint("r", "src/a.js", "pk_x");
        assert_eq!(a, fingerprint("r", "src/a.js", "pk_x"));
        assert_ne!(a, fingerprint("r2", "src/a.js", "pk_x"));
        assert_ne!(a, fingerprint("r", "src/b.js", "pk_x"));
        assert_ne!(a, fingerprint("r", "src/a.js", "pk_y"));
        // Parts are delimited, so moving a character across a boundary changes the id.
        assert_ne!(fingerprint("ab", "c", "k"), fingerprint("a", "bc", "k"));
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Medium > Severity::Low);
        assert_eq!(Severity::from_name("high"), Some(Severity::High));
        assert_eq!(Severity::from_name("HIGH"), None);
    }
}
