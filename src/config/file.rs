//! `.pkscan.toml`: where it is looked up, and reading it strictly. Unknown keys and bad
//! values are errors naming the file, the line and what is expected, so a typo never
//! silently turns a setting off. serde rejects unknown keys (`deny_unknown_fields`); every
//! value arrives as a spanned `toml::Value` and is checked here, so each message can name
//! its key and section. Messages never echo a value that could be a secret.
//!
//! This module only reads the file; `Options` decides how it combines with the command
//! line (flags win over the file, the file over defaults).

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::{Spanned, Value};

use crate::allow::Allowlist;
use crate::detect::custom::{CustomRule, CustomRuleError};
use crate::finding::{Secret, Severity};
use crate::rules::KeyRule;

/// The file looked up when `--config` is not given.
pub(crate) const FILE_NAME: &str = ".pkscan.toml";

/// What `pkscan init` writes: every setting at its default, with comments.
pub(crate) const TEMPLATE: &str = include_str!("init.toml");

/// The help of a custom rule that gives none.
pub(crate) const DEFAULT_HELP: &str =
    "Rotate the secret, remove it from the code and its history, \
and keep it in a secret store or an environment variable.";

/// A `.pkscan.toml` that parsed and validated.
#[derive(Clone, Debug, Default)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub scan: ScanSection,
    pub allow: Allowlist,
    pub rules: Vec<CustomRule>,
}

/// `[scan]`: every value optional, so that only what the file sets overrides a default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSection {
    pub exclude: Vec<String>,
    pub gitignore: Option<bool>,
    pub follow: Option<bool>,
    pub max_file_size: Option<u64>,
    pub threads: Option<usize>,
    pub fail_on: Option<Severity>,
    pub max_member_bytes: Option<u64>,
    pub max_file_bytes: Option<u64>,
    pub max_ratio: Option<u64>,
    pub ratio_floor: Option<u64>,
    pub max_depth: Option<u32>,
    pub max_members: Option<u64>,
}

/// A config that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; `None` when the problem has no place in the file.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The config file a run uses: `explicit` (`--config`) when given; else `.pkscan.toml` at
/// the root of the repository holding `first_path` when it has one (a work tree, or a bare
/// repository: a mirror inside a work tree is not scanned under that work tree's config);
/// else `.pkscan.toml` in the current directory; else none.
pub(crate) fn locate(explicit: Option<&Path>, first_path: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let start = first_path.filter(|p| *p != Path::new("-")).unwrap_or(Path::new("."));
    let at_root = crate::paths::find_repository_root(start).map(|root| root.join(FILE_NAME));
    [at_root, Some(PathBuf::from(FILE_NAME))].into_iter().flatten().find(|p| p.is_file())
}

/// Reads and validates the file at `path`.
pub(crate) fn load(path: &Path) -> Result<ConfigFile> {
    let shown = shown_path(path);
    let text = std::fs::read(path).with_context(|| format!("cannot read config {shown}"))?;
    let Ok(text) = String::from_utf8(text) else {
        bail!("{shown}: is not UTF-8 text; a config file is TOML");
    };
    let mut config = parse(&text, &shown)?;
    config.path = path.to_path_buf();
    Ok(config)
}

/// Writes the commented template (`TEMPLATE`) to `.pkscan.toml` in `dir`; refuses to replace one unless `force`.
pub fn init(dir: &Path, force: bool) -> Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    if force {
        std::fs::write(&path, TEMPLATE)
    } else {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| file.write_all(TEMPLATE.as_bytes()))
    }
    .map_err(|err| match err.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow::anyhow!("{FILE_NAME} already exists; use `pkscan init --force` to replace it")
        }
        _ => anyhow::Error::new(err).context(format!("cannot write {}", path.display())),
    })?;
    Ok(path)
}

/// The path as messages show it: relative to the current directory when below it.
fn shown_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    crate::paths::display_path(&relative)
}

/// Parses and validates config text; `file` is the name messages use.
pub fn parse(text: &str, file: &str) -> Result<ConfigFile, ConfigError> {
    let ctx = Ctx { file, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| ctx.toml_error(&e))?;
    let scan = match &raw.scan {
        Some(scan) => ctx.scan(scan)?,
        None => ScanSection::default(),
    };
    let rules = ctx.rules(raw.rule.as_deref().unwrap_or_default())?;
    let allow = match &raw.allow {
        Some(allow) => ctx.allow(allow, &rules)?,
        None => Allowlist::default(),
    };
    Ok(ConfigFile { path: PathBuf::from(file), scan, allow, rules })
}

type Leaf = Option<Spanned<Value>>;
type ListLeaf = Option<Spanned<List>>;

const TOP_KEYS: &[&str] = &["scan", "allow", "rule"];
const SCAN_KEYS: &[&str] = &[
    "exclude",
    "gitignore",
    "follow",
    "max_file_size",
    "threads",
    "fail_on",
    "max_member_bytes",
    "max_file_bytes",
    "max_ratio",
    "ratio_floor",
    "max_depth",
    "max_members",
];
const ALLOW_KEYS: &[&str] = &["paths", "secret_sha256", "regexes", "rules"];
const RULE_KEYS: &[&str] = &["id", "regex", "keywords", "severity", "title", "help"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    scan: Option<RawScan>,
    allow: Option<RawAllow>,
    rule: Option<Vec<Spanned<RawRule>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScan {
    exclude: ListLeaf,
    gitignore: Leaf,
    follow: Leaf,
    max_file_size: Leaf,
    threads: Leaf,
    fail_on: Leaf,
    max_member_bytes: Leaf,
    max_file_bytes: Leaf,
    max_ratio: Leaf,
    ratio_floor: Leaf,
    max_depth: Leaf,
    max_members: Leaf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    paths: ListLeaf,
    secret_sha256: ListLeaf,
    regexes: ListLeaf,
    rules: ListLeaf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Leaf,
    regex: Leaf,
    keywords: ListLeaf,
    severity: Leaf,
    title: Leaf,
    help: Leaf,
}

/// An array whose items keep their own spans, or what was given instead (so the message
/// can name the key rather than serde's type).
enum List {
    Items(Vec<Spanned<Value>>),
    NotArray(&'static str),
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<List, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = List;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Value>>()? {
                    items.push(item);
                }
                Ok(List::Items(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<List, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(List::NotArray("a table"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<List, E> {
                Ok(List::NotArray("a string"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<List, E> {
                Ok(List::NotArray("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<List, E> {
                Ok(List::NotArray("an integer"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<List, E> {
                Ok(List::NotArray("an integer"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<List, E> {
                Ok(List::NotArray("a float"))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// The file being read, for messages.
struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        let line = span.map(|s| {
            let at = s.start.min(self.text.len());
            self.text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1
        });
        ConfigError { file: self.file.to_string(), line, message: scrub(&message.into()) }
    }

    fn toml_error(&self, err: &toml::de::Error) -> ConfigError {
        self.error(err.span(), describe_toml_error(err.message()))
    }

    fn bad(&self, value: &Spanned<Value>, key: &str, section: &str, expected: &str) -> ConfigError {
        self.error(
            Some(value.span()),
            format!(
                "bad value for {key} in {section}: expected {expected}, found {}",
                kind(value.get_ref())
            ),
        )
    }

    fn bool(&self, value: &Leaf, key: &str, section: &str) -> Result<Option<bool>, ConfigError> {
        let Some(value) = value else { return Ok(None) };
        match value.get_ref() {
            Value::Boolean(b) => Ok(Some(*b)),
            _ => Err(self.bad(value, key, section, "true or false")),
        }
    }

    fn count(
        &self,
        value: &Leaf,
        key: &str,
        section: &str,
        expected: &str,
    ) -> Result<Option<u64>, ConfigError> {
        let Some(value) = value else { return Ok(None) };
        match value.get_ref() {
            Value::Integer(n) if *n >= 0 => Ok(Some(*n as u64)),
            _ => Err(self.bad(value, key, section, expected)),
        }
    }

    fn size(&self, value: &Leaf, key: &str, section: &str) -> Result<Option<u64>, ConfigError> {
        const EXPECTED: &str = "a size such as \"500MiB\" or \"2GiB\", or a number of bytes";
        let Some(value) = value else { return Ok(None) };
        match value.get_ref() {
            Value::Integer(n) if *n >= 0 => Ok(Some(*n as u64)),
            Value::String(text) => super::parse_size(text).map(Some).map_err(|err| {
                self.error(
                    Some(value.span()),
                    format!("bad value for {key} in {section}: {err:#} ({EXPECTED})"),
                )
            }),
            _ => Err(self.bad(value, key, section, EXPECTED)),
        }
    }

    fn severity(
        &self,
        value: &Leaf,
        key: &str,
        section: &str,
    ) -> Result<Option<Severity>, ConfigError> {
        const EXPECTED: &str = "one of critical, high, medium, low";
        let Some(value) = value else { return Ok(None) };
        match value.get_ref() {
            Value::String(name) => Severity::from_name(name).map(Some).ok_or_else(|| {
                self.error(
                    Some(value.span()),
                    format!(
                        "bad value for {key} in {section}: expected {EXPECTED}, found \"{}\"",
                        shown(name)
                    ),
                )
            }),
            _ => Err(self.bad(value, key, section, EXPECTED)),
        }
    }

    fn string(
        &self,
        value: &Leaf,
        key: &str,
        section: &str,
    ) -> Result<Option<String>, ConfigError> {
        let Some(value) = value else { return Ok(None) };
        match value.get_ref() {
            Value::String(text) => Ok(Some(text.clone())),
            _ => Err(self.bad(value, key, section, "a string")),
        }
    }

    /// The strings of an array, each with its span.
    fn strings(
        &self,
        list: &ListLeaf,
        key: &str,
        section: &str,
    ) -> Result<Vec<(String, Range<usize>)>, ConfigError> {
        let Some(list) = list else { return Ok(Vec::new()) };
        let items = match list.get_ref() {
            List::Items(items) => items,
            List::NotArray(found) => {
                return Err(self.error(
                    Some(list.span()),
                    format!(
                        "bad value for {key} in {section}: expected an array of strings such as [\"a\", \"b\"], found {found}"
                    ),
                ))
            }
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                Value::String(text) => Ok((text.clone(), item.span())),
                _ => Err(self.bad(item, &format!("an item of {key}"), section, "a string")),
            })
            .collect()
    }

    fn globs(&self, list: &ListLeaf, key: &str, section: &str) -> Result<Vec<String>, ConfigError> {
        let globs = self.strings(list, key, section)?;
        let mut builder = GitignoreBuilder::new("");
        for (glob, span) in &globs {
            builder.add_line(None, glob).map_err(|err| {
                self.error(Some(span.clone()), format!("bad glob in {key} in {section}: {err}"))
            })?;
        }
        Ok(globs.into_iter().map(|(glob, _)| glob).collect())
    }

    fn scan(&self, raw: &RawScan) -> Result<ScanSection, ConfigError> {
        const S: &str = "[scan]";
        let max_depth =
            match self.count(&raw.max_depth, "max_depth", S, "a nesting depth such as 4")? {
                Some(depth) => Some(u32::try_from(depth).map_err(|_| {
                    let value = raw.max_depth.as_ref().expect("a count was read from it");
                    self.bad(value, "max_depth", S, "a nesting depth such as 4")
                })?),
                None => None,
            };
        let max_ratio =
            self.count(&raw.max_ratio, "max_ratio", S, "a ratio of 1 or more, such as 100")?;
        if max_ratio == Some(0) {
            let value = raw.max_ratio.as_ref().expect("a count was read from it");
            return Err(self.error(
                Some(value.span()),
                "bad value for max_ratio in [scan]: expected a ratio of 1 or more, such as 100, found 0",
            ));
        }
        Ok(ScanSection {
            exclude: self.globs(&raw.exclude, "exclude", S)?,
            gitignore: self.bool(&raw.gitignore, "gitignore", S)?,
            follow: self.bool(&raw.follow, "follow", S)?,
            max_file_size: self.size(&raw.max_file_size, "max_file_size", S)?,
            threads: self
                .count(&raw.threads, "threads", S, "a number of threads (0 = one per core)")?
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            fail_on: self.severity(&raw.fail_on, "fail_on", S)?,
            max_member_bytes: self.size(&raw.max_member_bytes, "max_member_bytes", S)?,
            max_file_bytes: self.size(&raw.max_file_bytes, "max_file_bytes", S)?,
            max_ratio,
            ratio_floor: self.size(&raw.ratio_floor, "ratio_floor", S)?,
            max_depth,
            max_members: self.count(
                &raw.max_members,
                "max_members",
                S,
                "a number of members such as 100000",
            )?,
        })
    }

    fn allow(&self, raw: &RawAllow, custom: &[CustomRule]) -> Result<Allowlist, ConfigError> {
        const S: &str = "[allow]";
        let mut allow = Allowlist::default();
        let paths = self.globs(&raw.paths, "paths", S)?;
        if !paths.is_empty() {
            let mut builder = GitignoreBuilder::new("");
            for glob in &paths {
                builder.add_line(None, glob).expect("validated by globs()");
            }
            allow.paths = Some(builder.build().unwrap_or_else(|_| Gitignore::empty()));
        }
        for (value, span) in self.strings(&raw.secret_sha256, "secret_sha256", S)? {
            allow.secret_sha256.insert(self.sha256(&value, span)?);
        }
        for (pattern, span) in self.strings(&raw.regexes, "regexes", S)? {
            let regex =
                regex::RegexBuilder::new(&pattern).size_limit(1 << 20).build().map_err(|err| {
                    self.error(
                        Some(span),
                        format!(
                            "bad regex in regexes in [allow]: {}",
                            crate::detect::custom::describe_regex_error(&err)
                        ),
                    )
                })?;
            allow.regexes.push(regex);
        }
        let known: Vec<String> = KeyRule::ALL
            .iter()
            .map(|r| r.id().to_string())
            .chain(custom.iter().map(|r| r.id.clone()))
            .collect();
        for (id, span) in self.strings(&raw.rules, "rules", S)? {
            if !known.contains(&id) {
                return Err(self.error(
                    Some(span),
                    format!(
                        "unknown rule id \"{}\" in rules in [allow]; expected one of {}",
                        shown(&id),
                        known.join(", ")
                    ),
                ));
            }
            allow.rules.insert(id);
        }
        Ok(allow)
    }

    fn sha256(&self, value: &str, span: Range<usize>) -> Result<String, ConfigError> {
        let trimmed = value.trim();
        if trimmed.len() == 64 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(trimmed.to_ascii_lowercase());
        }
        let mut looks_like_key = trimmed.starts_with("pk_");
        crate::detect::for_each_key(trimmed.as_bytes(), 0, trimmed.len(), |_, _| {
            looks_like_key = true
        });
        let message = if looks_like_key {
            format!(
                "secret_sha256 in [allow] holds what looks like a raw key ({}); never put a key in \
                 the config: put its SHA-256 (the secret_sha256 of a JSON report, or the output of \
                 `printf %s KEY | sha256sum`), and rotate the key if this file was ever committed",
                Secret::new(trimmed).redacted()
            )
        } else {
            format!(
                "bad value in secret_sha256 in [allow]: expected 64 hex digits (the SHA-256 of the \
                 secret, as in a JSON report's secret_sha256), found {} characters",
                trimmed.chars().count()
            )
        };
        Err(self.error(Some(span), message))
    }

    fn rules(&self, raw: &[Spanned<RawRule>]) -> Result<Vec<CustomRule>, ConfigError> {
        let builtin: HashSet<&str> = KeyRule::ALL.iter().map(|r| r.id()).collect();
        let mut seen = HashSet::new();
        let mut rules = Vec::with_capacity(raw.len());
        for (index, spanned) in raw.iter().enumerate() {
            let rule = spanned.get_ref();
            let section = format!("[[rule]] #{}", index + 1);
            let Some(id) = self.string(&rule.id, "id", &section)? else {
                return Err(self.error(
                    Some(spanned.span()),
                    format!("{section} has no id; give it one such as id = \"acme-live-token\""),
                ));
            };
            let id_span = rule.id.as_ref().map(Spanned::span);
            if !is_valid_id(&id) {
                return Err(self.error(
                    id_span,
                    format!(
                        "bad value for id in {section}: expected letters, digits, '-', '_' or '.' \
                         (at most 100, starting with a letter or digit), found \"{}\"",
                        shown(&id)
                    ),
                ));
            }
            if builtin.contains(id.as_str()) {
                return Err(self.error(
                    id_span,
                    format!("id \"{id}\" in {section} is a built-in rule's; choose another id"),
                ));
            }
            if !seen.insert(id.clone()) {
                return Err(self.error(
                    id_span,
                    format!(
                        "id \"{id}\" in {section} is used by an earlier [[rule]]; ids are unique"
                    ),
                ));
            }
            let section = format!("[[rule]] \"{id}\"");
            let Some(pattern) = self.string(&rule.regex, "regex", &section)? else {
                return Err(self.error(
                    Some(spanned.span()),
                    format!("{section} has no regex; add one such as regex = 'acme_live_[a-z0-9]{{32}}'"),
                ));
            };
            let keywords: Vec<String> = self
                .strings(&rule.keywords, "keywords", &section)?
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            let severity =
                self.severity(&rule.severity, "severity", &section)?.unwrap_or(Severity::High);
            let title = self.string(&rule.title, "title", &section)?.unwrap_or_else(|| id.clone());
            let help = self
                .string(&rule.help, "help", &section)?
                .filter(|h| !h.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_HELP.to_string());
            let custom =
                CustomRule::new(id, &pattern, keywords, severity, title, help).map_err(|err| {
                    let (key, span) = match err {
                        CustomRuleError::EmptyKeyword | CustomRuleError::LongKeyword => {
                            ("keywords", rule.keywords.as_ref().map(Spanned::span))
                        }
                        _ => ("regex", rule.regex.as_ref().map(Spanned::span)),
                    };
                    self.error(span, format!("bad value for {key} in {section}: {err}"))
                })?;
            rules.push(custom);
        }
        Ok(rules)
    }
}

fn is_valid_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(n) if *n < 0 => "a negative integer",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// A user's string fit for a message: control characters escaped, keys redacted, short.
fn shown(text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    let ellipsis = if short.len() < text.len() { "…" } else { "" };
    format!("{}{ellipsis}", crate::sanitize::escape_control(&scrub(&short)))
}

/// Redacts every Klaviyo-key-shaped token, as everywhere else in pkscan's output.
fn scrub(text: &str) -> String {
    let mut spans = Vec::new();
    crate::detect::for_each_key(text.as_bytes(), 0, text.len(), |s, e| spans.push((s, e)));
    let mut out = text.to_string();
    for (start, end) in spans.into_iter().rev() {
        out.replace_range(start..end, &Secret::new(&text[start..end]).redacted());
    }
    out
}

/// Rewrites serde's and the TOML parser's messages in the config's own terms.
fn describe_toml_error(message: &str) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        return unknown_key(name, &expected);
    }
    if let Some(rest) = message.strip_prefix("unexpected keys in table: ") {
        let (names, expected) = rest.split_once(", available keys: ").unwrap_or((rest, ""));
        let expected: Vec<&str> = expected.split(", ").collect();
        return unknown_key(names.split(", ").next().unwrap_or(names), &expected);
    }
    if message.contains("struct RawScan") {
        return "[scan] must be a table: write `[scan]` on a line, then its settings".into();
    }
    if message.contains("struct RawAllow") {
        return "[allow] must be a table: write `[allow]` on a line, then its lists".into();
    }
    if message.contains("struct RawRule") || message.contains("expected a sequence") {
        return "rule must be an array of tables: start each custom rule with a `[[rule]]` line"
            .into();
    }
    let oneline: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    format!("invalid TOML: {}", oneline.join("; "))
}

fn unknown_key(name: &str, expected: &[&str]) -> String {
    let section = if expected == TOP_KEYS {
        "at the top level (sections are [scan], [allow] and [[rule]])"
    } else if expected == SCAN_KEYS {
        "in [scan]"
    } else if expected == ALLOW_KEYS {
        "in [allow]"
    } else if expected == RULE_KEYS {
        "in [[rule]]"
    } else {
        "here"
    };
    format!("unknown key \"{}\" {section}; expected one of {}", shown(name), expected.join(", "))
}

#[cfg(test)]
mod tests;
