//! The opt-in liveness check (`--verify`): asks Klaviyo's accounts endpoint whether each
//! distinct key found still authenticates, and which public key (site ID) belongs to its
//! account. Off unless asked for; nothing else in pkscan opens a network connection.
//!
//! Only built-in Klaviyo key findings are checked: placeholders are no keys, and a
//! custom rule's secret is not Klaviyo's to judge. Each key is sent once per run (a 429 is
//! retried after `Retry-After`, a 401 never), only to `{api_base}/api/accounts`, and never
//! appears unredacted in anything this module writes. A check that settles nothing is
//! `unknown`, which reports keep as a leak: a failed check never turns a leak into a pass.
//!
//! This module is not a client for Klaviyo's API: one request, read for one answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::finding::{
    Finding, Report, Secret, Verification, VerificationStatus, VerificationSummary,
};
use crate::rules::KeyRule;
use crate::sanitize::escape_control;

/// Where Klaviyo's API lives; `--klaviyo-api-base` points tests at a local stub.
pub(crate) const DEFAULT_API_BASE: &str = "https://a.klaviyo.com";
/// The API revision pkscan was written against (Klaviyo requires one on every request).
pub(crate) const REVISION: &str = "2026-07-15";
const ACCEPT: &str = "application/vnd.api+json";
/// Keys checked at once. Klaviyo's limit (1/s burst, 15/min) is per key, and each key is
/// asked once, so this only bounds the threads and sockets a run holds.
const WORKERS: usize = 4;
/// Tries after the first when Klaviyo answers 429, and the caps on waiting, so a run
/// always ends: at most 3 retries, 60 s for any one wait, 90 s of waiting per key.
const MAX_RETRIES: u32 = 3;
const MAX_WAIT: Duration = Duration::from_secs(60);
const MAX_TOTAL_WAIT: Duration = Duration::from_secs(90);
/// Klaviyo allows one request per second per key: no retry comes sooner.
const MIN_SPACING: Duration = Duration::from_secs(1);
/// The accounts answer is a few KiB; more is not Klaviyo.
const MAX_BODY: u64 = 1 << 20;
/// Longest account name or error text carried into a report.
const MAX_TEXT: usize = 160;

/// How `--verify` runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// `https://a.klaviyo.com` unless overridden; no trailing slash.
    pub api_base: String,
    /// Per request, from DNS lookup to the last byte of the answer.
    pub timeout: Duration,
    /// `--verify-only-live`: drop findings of keys Klaviyo rejected, and placeholders.
    pub only_live: bool,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            api_base: DEFAULT_API_BASE.to_string(),
            timeout: Duration::from_secs(10),
            only_live: false,
        }
    }
}

/// Checks `--klaviyo-api-base`: keys are sent there, so it must be `https://`, or plain
/// `http://` on a loopback address (a local test stub). Returns it without trailing `/`.
pub(crate) fn parse_api_base(text: &str) -> Result<String, String> {
    let base = text.trim().trim_end_matches('/');
    let (scheme, rest) = base
        .split_once("://")
        .ok_or_else(|| format!("expected a URL such as {DEFAULT_API_BASE}"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    if host.is_empty() || base.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("expected a URL such as {DEFAULT_API_BASE}"));
    }
    if base.contains(['?', '#']) {
        return Err("the base URL takes no query or fragment".to_string());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(base.to_string()),
        "http" if matches!(host, "127.0.0.1" | "localhost" | "[::1]") => Ok(base.to_string()),
        "http" => Err("keys are sent there: use https:// (plain http:// is only for a \
                       test server on 127.0.0.1, localhost or [::1])"
            .to_string()),
        _ => Err(format!("expected an https:// URL such as {DEFAULT_API_BASE}")),
    }
}

/// Whether a finding's key is one Klaviyo can judge: a built-in rule, not a placeholder.
pub(crate) fn is_verifiable(finding: &Finding) -> bool {
    KeyRule::ALL.iter().any(|rule| *rule != KeyRule::Placeholder && rule.id() == finding.rule_id)
}

/// Checks every distinct verifiable key of the report once, attaches the outcome to each
/// of its findings, applies `only_live`, and counts it all in `summary.verification`.
pub(crate) fn apply(opts: &VerifyOptions, report: &mut Report) {
    let mut keys: Vec<Secret> =
        report.findings.iter().filter(|f| is_verifiable(f)).map(|f| f.secret.clone()).collect();
    keys.sort();
    keys.dedup();
    let outcomes: HashMap<Secret, Verification> =
        keys.iter().cloned().zip(check_all(opts, &keys)).collect();
    for finding in report.findings.iter_mut().filter(|f| is_verifiable(f)) {
        finding.verification = outcomes.get(&finding.secret).cloned();
    }
    let count = |status| outcomes.values().filter(|v| v.status == status).count() as u64;
    let mut summary = VerificationSummary {
        keys_checked: outcomes.len() as u64,
        live: count(VerificationStatus::Live),
        unknown: count(VerificationStatus::Unknown),
        invalid: count(VerificationStatus::Invalid),
        hidden: 0,
    };
    if opts.only_live {
        let before = report.findings.len();
        report.findings.retain(is_possibly_live);
        summary.hidden = (before - report.findings.len()) as u64;
        report.summary.findings = report.findings.len() as u64;
    }
    report.summary.verification = Some(summary);
}

/// What `--verify-only-live` keeps: live and unknown keys (an unchecked key may be live)
/// and custom rules' secrets (not Klaviyo's to judge); not rejected keys, not placeholders.
fn is_possibly_live(finding: &Finding) -> bool {
    match &finding.verification {
        Some(v) => v.status != VerificationStatus::Invalid,
        None => finding.rule_id != KeyRule::Placeholder.id(),
    }
}

/// One verification per key, in the order given, `WORKERS` keys at a time.
fn check_all(opts: &VerifyOptions, keys: &[Secret]) -> Vec<Verification> {
    let agent = agent(opts);
    let next = AtomicUsize::new(0);
    let mut done: Vec<Option<Verification>> = vec![None; keys.len()];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS.min(keys.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(key) = keys.get(i) else { break mine };
                        mine.push((i, check(&agent, opts, key)));
                    }
                })
            })
            .collect();
        for worker in workers {
            for (i, outcome) in worker.join().unwrap_or_default() {
                done[i] = Some(outcome);
            }
        }
    });
    // A worker that died leaves its keys unchecked: unknown, still a leak.
    done.into_iter()
        .map(|v| {
            v.unwrap_or_else(|| answer(VerificationStatus::Unknown, "the check did not finish"))
        })
        .collect()
}

fn agent(opts: &VerifyOptions) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .http_status_as_error(false)
        // The key rides in a header: never follow Klaviyo (or anyone) elsewhere with it.
        .max_redirects(0)
        .user_agent(concat!("pkscan/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// What one request settled.
#[derive(Debug, PartialEq)]
enum Attempt {
    Answered(Verification),
    /// HTTP 429, with the `Retry-After` Klaviyo asked for, if it said.
    RateLimited(Option<Duration>),
}

/// Asks about one key until Klaviyo answers, retrying only on 429 and within the caps.
fn check(agent: &ureq::Agent, opts: &VerifyOptions, key: &Secret) -> Verification {
    let url = format!("{}/api/accounts", opts.api_base);
    let mut waited = Duration::ZERO;
    for attempt in 0..=MAX_RETRIES {
        let retry_after = match request(agent, &url, key, opts.timeout) {
            Attempt::Answered(outcome) => return outcome,
            Attempt::RateLimited(after) => after,
        };
        let wait = backoff(attempt, retry_after);
        if attempt == MAX_RETRIES || waited + wait > MAX_TOTAL_WAIT {
            break;
        }
        std::thread::sleep(wait);
        waited += wait;
    }
    answer(
        VerificationStatus::Unknown,
        &format!(
            "Klaviyo kept answering HTTP 429 (rate limited) after {} tries; run again later",
            MAX_RETRIES + 1
        ),
    )
}

/// The wait before retry number `attempt + 1`: `Retry-After` when given, else 1, 2, 4 s;
/// never under Klaviyo's 1 s spacing nor over `MAX_WAIT`.
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    retry_after.unwrap_or(MIN_SPACING * 2u32.pow(attempt.min(6))).clamp(MIN_SPACING, MAX_WAIT)
}

fn request(agent: &ureq::Agent, url: &str, key: &Secret, timeout: Duration) -> Attempt {
    let sent = agent
        .get(url)
        .header("Authorization", format!("Klaviyo-API-Key {}", key.expose()))
        .header("revision", REVISION)
        .header("Accept", ACCEPT)
        .call();
    let mut response = match sent {
        Ok(response) => response,
        Err(err) => {
            let reason = describe_error(&err, timeout);
            return Attempt::Answered(answer(VerificationStatus::Unknown, &scrub(&reason, key)));
        }
    };
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|err| describe_error(&err, timeout));
    match classify(response.status().as_u16(), retry_after, body) {
        Attempt::Answered(mut outcome) => {
            outcome.detail = scrub(&outcome.detail, key);
            outcome.account_name = outcome.account_name.map(|name| scrub(&name, key));
            Attempt::Answered(outcome)
        }
        other => other,
    }
}

/// Turns an answer into an outcome: the whole of DOMAIN.md's table, with no I/O.
fn classify(status: u16, retry_after: Option<Duration>, body: Result<Vec<u8>, String>) -> Attempt {
    use VerificationStatus::{Invalid, Live, Unknown};
    let outcome = match status {
        200 => match body.map_err(|e| e.to_string()).and_then(|b| read_account(&b)) {
            Ok(account) => {
                let mut outcome = answer(Live, "Klaviyo accepted the key (HTTP 200)");
                outcome.public_api_key = account.public_api_key;
                outcome.account_id = account.id;
                outcome.account_name = account.name;
                outcome
            }
            // Klaviyo answers 200 only to a key that authenticated, so the key is live
            // even when the answer cannot be read; only the public key is unknown.
            Err(reason) => answer(
                Live,
                &format!(
                    "Klaviyo accepted the key (HTTP 200), but its answer could not be read \
                     ({reason}), so the public key is unknown"
                ),
            ),
        },
        403 => answer(
            Live,
            &format!(
                "Klaviyo accepted the key, which lacks the accounts:read scope (HTTP 403{}): \
                 it is live",
                error_code(&body)
            ),
        ),
        401 | 400 => answer(
            Invalid,
            &format!("Klaviyo rejected the key (HTTP {status}{})", error_code(&body)),
        ),
        429 => return Attempt::RateLimited(retry_after),
        500..=599 => answer(
            Unknown,
            &format!("Klaviyo answered HTTP {status}{}; run again later", error_code(&body)),
        ),
        _ => answer(
            Unknown,
            &format!(
                "unexpected answer HTTP {status}{} from the accounts endpoint",
                error_code(&body)
            ),
        ),
    };
    Attempt::Answered(outcome)
}

fn answer(status: VerificationStatus, detail: &str) -> Verification {
    Verification {
        status,
        public_api_key: None,
        account_id: None,
        account_name: None,
        checked_at: now_rfc3339(),
        detail: detail.to_string(),
    }
}

/// What pkscan reads from a 200: the first account's public key, id and name.
#[derive(Debug, Default, PartialEq)]
struct Account {
    public_api_key: Option<String>,
    id: Option<String>,
    name: Option<String>,
}

fn read_account(body: &[u8]) -> Result<Account, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let account = value.get("data").and_then(|d| d.get(0)).ok_or("no data[0] in the answer")?;
    let attributes = account.get("attributes");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let name = attributes
        .and_then(|a| a.get("contact_information"))
        .and_then(|c| c.get("organization_name"))
        .or_else(|| attributes.and_then(|a| a.get("name")));
    Ok(Account {
        public_api_key: text(attributes.and_then(|a| a.get("public_api_key")))
            .filter(|k| is_identifier(k)),
        id: text(account.get("id")).filter(|id| is_identifier(id)),
        name: text(name).map(|n| clip(&escape_control(n.trim()))).filter(|n| !n.is_empty()),
    })
}

/// A public key or account id as Klaviyo writes them (6 alphanumerics today); anything
/// else is not trusted into a report.
fn is_identifier(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// ` not_authenticated: Missing or invalid private key.` from a JSON:API error body, or
/// nothing; clipped and escaped, since it is text from the network.
fn error_code(body: &Result<Vec<u8>, String>) -> String {
    let Ok(bytes) = body else { return String::new() };
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else { return String::new() };
    let Some(error) = value.get("errors").and_then(|e| e.get(0)) else { return String::new() };
    let field = |name| error.get(name).and_then(Value::as_str).map(str::trim).unwrap_or("");
    let text = match (field("code"), field("detail")) {
        ("", "") => return String::new(),
        (code, "") => code.to_string(),
        ("", detail) => detail.to_string(),
        (code, detail) => format!("{code}: {detail}"),
    };
    format!(" {}", clip(&escape_control(&text)))
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `Retry-After` in seconds (Klaviyo's form); an HTTP date falls back to the default backoff.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn describe_error(err: &ureq::Error, timeout: Duration) -> String {
    match err {
        ureq::Error::Timeout(_) => {
            format!("no answer: timed out after {} s", timeout.as_secs_f64())
        }
        ureq::Error::HostNotFound => "no answer: host not found".to_string(),
        ureq::Error::ConnectionFailed => "no answer: connection failed".to_string(),
        ureq::Error::Io(io) => format!("no answer: network error: {io}"),
        ureq::Error::BodyExceedsLimit(limit) => format!("the answer is larger than {limit} bytes"),
        other => format!("no answer: {other}"),
    }
}

/// Redacts the key, and any other private-key-shaped token, out of `text`: error strings
/// from the HTTP stack or from the server may echo what was sent.
fn scrub(text: &str, key: &Secret) -> String {
    let text = text.replace(key.expose(), &key.redacted());
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("pk_") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let len =
            3 + tail[3..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        let token = &tail[..len];
        if len >= 3 + 20 {
            out.push_str(&Secret::new(token).redacted());
        } else {
            out.push_str(token);
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    escape_control(&out)
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: u16, body: &str) -> Verification {
        match classify(status, None, Ok(body.as_bytes().to_vec())) {
            Attempt::Answered(v) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let ok = r#"{"data":[{"type":"account","id":"AbC123","attributes":{
            "public_api_key":"AbC123","contact_information":{"organization_name":"Acme\u001b Inc"}}}]}"#;
        let live = outcome(200, ok);
        assert_eq!(live.status, VerificationStatus::Live);
        assert_eq!(live.public_api_key.as_deref(), Some("AbC123"));
        assert_eq!(live.account_id.as_deref(), Some("AbC123"));
        assert_eq!(live.account_name.as_deref(), Some("Acme\\x1b Inc"));
        assert_eq!(live.detail, "Klaviyo accepted the key (HTTP 200)");

        let garbled = outcome(200, "{\"data\": [");
        assert_eq!(garbled.status, VerificationStatus::Live);
        assert_eq!(garbled.public_api_key, None);
        assert!(garbled.detail.contains("could not be read"), "{}", garbled.detail);

        let denied = r#"{"errors":[{"code":"permission_denied","detail":"no scope"}]}"#;
        let forbidden = outcome(403, denied);
        assert_eq!(forbidden.status, VerificationStatus::Live);
        assert!(forbidden.detail.contains("HTTP 403 permission_denied: no scope"));

        assert_eq!(outcome(401, "").status, VerificationStatus::Invalid);
        assert_eq!(outcome(400, "{}").detail, "Klaviyo rejected the key (HTTP 400)");
        assert_eq!(outcome(503, "").status, VerificationStatus::Unknown);
        assert_eq!(outcome(302, "").status, VerificationStatus::Unknown);
        assert_eq!(
            classify(429, Some(Duration::from_secs(7)), Ok(vec![])),
            Attempt::RateLimited(Some(Duration::from_secs(7)))
        );
    }

    #[test]
    fn untrusted_public_keys_are_dropped() {
        let body = r#"{"data":[{"id":"x y","attributes":{"public_api_key":"<script>"}}]}"#;
        let v = outcome(200, body);
        assert_eq!((v.public_api_key, v.account_id), (None, None));
    }

    #[test]
    fn backoff_is_bounded() {
        assert_eq!(backoff(0, None), Duration::from_secs(1));
        assert_eq!(backoff(2, None), Duration::from_secs(4));
        assert_eq!(backoff(0, Some(Duration::ZERO)), MIN_SPACING);
        assert_eq!(backoff(0, Some(Duration::from_secs(3600))), MAX_WAIT);
        assert_eq!(parse_retry_after(" 5 "), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn scrub_redacts_every_key_shape() {
        let key = Secret::new(format!("pk_3f9a{}4b", "0c".repeat(14)));
        let other = format!("pk_ab12cd_{}", "e5".repeat(17));
        let text = format!("GET with {} failed; also {other}, pk_short\n", key.expose());
        assert_eq!(
            scrub(&text, &key),
            format!(
                "GET with pk_3f9a…4b failed; also {}, pk_short\\n",
                Secret::new(other).redacted()
            )
        );
    }

    #[test]
    fn api_base_must_be_tls_unless_loopback() {
        assert_eq!(
            parse_api_base("https://a.klaviyo.com/").as_deref(),
            Ok("https://a.klaviyo.com")
        );
        assert_eq!(parse_api_base("http://127.0.0.1:8080").as_deref(), Ok("http://127.0.0.1:8080"));
        assert!(parse_api_base("http://localhost").is_ok());
        assert!(parse_api_base("http://[::1]:99/x").is_ok());
        assert!(parse_api_base("http://example.com").is_err());
        assert!(parse_api_base("http://127.0.0.1.example.com").is_err());
        assert!(parse_api_base("ftp://a.klaviyo.com").is_err());
        assert!(parse_api_base("a.klaviyo.com").is_err());
        assert!(parse_api_base("https://a.klaviyo.com?x=1").is_err());
    }
}
