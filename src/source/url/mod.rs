//! `pkscan url`: audits a live site the way a visitor's browser receives it. Each start
//! page is fetched and scanned as served; what it loads (scripts, styles, manifests,
//! frames) is fetched and scanned too, scripts and styles one level further (their source
//! maps and the chunks they name), and same-site links are followed to `--depth`.
//!
//! Safety comes first: only `http`/`https` URLs on a start URL's host and port, or on an
//! `--allow-host`, are requested; a URL that holds a private-key-shaped token is never
//! requested anywhere; each URL is requested at most once, redirect hops included, each
//! hop checked before it is requested; requests, pages, time and bytes are capped. Bodies
//! go through the engine's file entry point, so a served `.js.gz` or `.zip` is decoded
//! as in `pkscan scan`. This module schedules and decides; `fetch` talks HTTP, `links`
//! reads references out of bodies, `scope` says what may be requested.

mod fetch;
mod links;
mod maps;
mod scope;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::BufRead;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{bail, Result};
use url::Url;

use crate::finding::ScanError;
use crate::scan::{Blob, Collector, Sink};
use fetch::{Client, Fetched, Reply};
use links::{Kind, Reference, Via};
use scope::Scope;

/// Redirect hops followed from one URL before it is an error.
const MAX_HOPS: usize = 5;

/// What `pkscan url` was asked to do, beside the shared [`crate::Options`].
#[derive(Debug, Clone)]
pub struct UrlOptions {
    /// Start URLs as given; `-` reads more from standard input, one a line.
    pub urls: Vec<String>,
    /// How many `<a href>` steps away from a start page to follow (0: only the start
    /// pages and what they load). Default 1.
    pub depth: u32,
    /// Pages fetched at most, start pages included (start pages are always fetched).
    /// Default 50.
    pub max_pages: usize,
    /// More hosts that may be requested (`HOST` or `HOST:PORT`), e.g. the site's CDN.
    pub allow_hosts: Vec<String>,
    /// Budget of each request: connect, headers and body together. Default 20 s.
    pub timeout: Duration,
    /// Bytes of a body scanned at most (after `Content-Encoding`). Default 32 MiB.
    pub max_response_bytes: u64,
    /// Requests in flight at once. Default 8.
    pub concurrency: usize,
    /// Requests in flight to one host at once. Default 4.
    pub per_host_concurrency: usize,
    /// Requests in a run at most, redirect hops included. Default 500.
    pub max_requests: usize,
    /// Extra request headers (name, value); values are never written in any message.
    pub headers: Vec<(String, String)>,
    /// Default `pkscan/VERSION`.
    pub user_agent: String,
    /// Draw a progress line on stderr (the caller decides: only when it is a terminal).
    pub progress: bool,
}

impl Default for UrlOptions {
    fn default() -> UrlOptions {
        UrlOptions {
            urls: Vec::new(),
            depth: 1,
            max_pages: 50,
            allow_hosts: Vec::new(),
            timeout: Duration::from_secs(20),
            max_response_bytes: 32 << 20,
            concurrency: 8,
            per_host_concurrency: 4,
            max_requests: 500,
            headers: Vec::new(),
            user_agent: concat!("pkscan/", env!("CARGO_PKG_VERSION")).to_string(),
            progress: false,
        }
    }
}

/// What a crawl produced, before the report is finished.
pub(crate) struct Crawl {
    pub collected: Collector,
    /// Requests sent, redirect hops included.
    pub fetched: u64,
    /// Distinct URLs found but not requested: out of scope, not http(s), holding a key,
    /// or over a cap.
    pub skipped: u64,
    /// Those URLs, sorted, every key-shaped token in them redacted.
    pub skipped_urls: Vec<String>,
    /// Start URLs that could not be fetched at all, and why.
    pub unreachable: Vec<ScanError>,
}

/// Crawls from the start URLs and hands everything fetched to a sink of its worker's,
/// made by `new_sink`.
pub(crate) fn crawl<'e>(
    new_sink: &(dyn Fn() -> Sink<'e> + Sync),
    opts: &UrlOptions,
) -> Result<Crawl> {
    let starts = start_urls(&opts.urls)?;
    let parsed: Vec<Url> = starts.iter().filter_map(|s| s.url.clone()).collect();
    let crawler = Crawler {
        new_sink,
        opts,
        scope: Scope::new(&parsed, &opts.allow_hosts)?,
        client: Client::new(opts),
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        collected: Mutex::new(Collector::default()),
        maps: maps::Maps::default(),
        progress: opts.progress.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        }),
    };
    {
        let mut state = crawler.lock();
        for start in &starts {
            state.admit_start(start, &crawler.scope);
        }
    }
    std::thread::scope(|s| {
        for _ in 0..opts.concurrency.max(1) {
            s.spawn(|| crawler.work());
        }
    });
    if let Some(bar) = &crawler.progress {
        bar.finish_and_clear();
    }
    let first = parsed.first().map(|u| scope::canonical(u).to_string()).unwrap_or_default();
    let mut state = crawler.state.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut collected = crawler.collected.into_inner().unwrap_or_else(|p| p.into_inner());
    if !state.refused_requests.is_empty() {
        collected.error(
            &first,
            format!(
                "--max-requests {} reached: {} more URLs were not requested",
                opts.max_requests,
                state.refused_requests.len()
            ),
        );
    }
    if !state.refused_pages.is_empty() {
        collected.error(
            &first,
            format!(
                "--max-pages {} reached: {} more pages were not fetched",
                opts.max_pages,
                state.refused_pages.len()
            ),
        );
    }
    state.unreachable.sort();
    crawler.maps.apply(&mut collected.findings);
    let mut skipped_urls: Vec<String> = state.skipped.iter().map(|u| redact_keys(u)).collect();
    skipped_urls.sort();
    Ok(Crawl {
        collected,
        fetched: state.requests as u64,
        skipped: state.skipped.len() as u64,
        skipped_urls,
        unreachable: state.unreachable,
    })
}

/// A start URL as given, parsed when it could be.
struct Start {
    text: String,
    url: Option<Url>,
}

/// The start URLs, `-` expanded from stdin (blank lines and `#` comments skipped). A URL
/// that is not http(s) or carries credentials is a usage error; one that holds a key is
/// kept, to be refused (and reported) without a request.
fn start_urls(given: &[String]) -> Result<Vec<Start>> {
    let mut texts = Vec::new();
    for text in given {
        if text == "-" {
            for line in std::io::stdin().lock().lines() {
                let line =
                    line.map_err(|e| anyhow::anyhow!("cannot read URLs from standard input: {e}"))?;
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    texts.push(line.to_string());
                }
            }
        } else {
            texts.push(text.trim().to_string());
        }
    }
    if texts.is_empty() {
        bail!("no URL to scan; name one (pkscan url https://shop.example/) or pipe a list into `pkscan url -`");
    }
    let mut starts = Vec::new();
    for text in texts {
        let shown = redact_keys(&text);
        if scope::carries_key(&text) {
            starts.push(Start { text, url: None });
            continue;
        }
        let url = Url::parse(&text).map_err(|e| {
            anyhow::anyhow!(
                "{shown:?} is not a URL ({e}); give it with its scheme, e.g. https://{shown}"
            )
        })?;
        if !scope::is_http(&url) {
            bail!("{shown}: only http and https URLs can be scanned");
        }
        if !url.username().is_empty() || url.password().is_some() {
            bail!(
                "{}: put credentials in a header instead of the URL, e.g. --header \"Authorization: Basic …\"",
                scope::canonical(&url)
            );
        }
        starts.push(Start { text, url: Some(url) });
    }
    Ok(starts)
}

/// The text with every key-shaped token redacted (`pk_3f9a…4b`).
fn redact_keys(text: &str) -> String {
    crate::detect::redact_keys(text).into_owned()
}

/// What a fetched URL is to the crawl, which decides what of it is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A document: its loads are fetched, its links followed while `depth` < `--depth`.
    Page { depth: u32 },
    /// Loaded by a page (level 0), named inside a script or style (1), a source map (2).
    /// Scripts and styles at level 0 give their chunks and maps, at level 1 their maps.
    Asset { level: u8 },
}

struct Job {
    url: Url,
    role: Role,
    start: bool,
}

impl Job {
    fn name(&self) -> String {
        self.url.to_string()
    }
}

/// The crawl's shared bookkeeping, under one lock held only between requests.
#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Every URL queued or requested, redirect targets included: requested at most once.
    seen: HashSet<String>,
    skipped: HashSet<String>,
    in_flight: usize,
    per_host: HashMap<String, usize>,
    requests: usize,
    pages: usize,
    refused_requests: HashSet<String>,
    refused_pages: HashSet<String>,
    unreachable: Vec<ScanError>,
    /// For the progress line.
    pages_done: u64,
    assets_done: u64,
    bytes: u64,
    findings: u64,
}

impl State {
    fn admit_start(&mut self, start: &Start, scope: &Scope) {
        let Some(url) = &start.url else {
            self.skipped.insert(start.text.clone());
            self.unreachable.push(ScanError::new(
                key_free_name(&start.text),
                "not requested: the URL holds a private key, and requesting it would hand the key to that host",
            ));
            return;
        };
        let url = scope::canonical(url);
        debug_assert!(scope.allows(&url), "a start URL is always in scope");
        if self.seen.insert(url.to_string()) {
            self.pages += 1;
            self.queue.push_back(Job { url, role: Role::Page { depth: 0 }, start: true });
        }
    }

    /// Queues what `parent` referred to, if it may and need be requested.
    fn admit(&mut self, reference: Reference, parent: Role, opts: &UrlOptions, scope: &Scope) {
        let role = match (reference.via, parent) {
            (Via::Load, _) => Role::Asset { level: 0 },
            (Via::Frame, Role::Page { depth }) => Role::Page { depth },
            (Via::Link, Role::Page { depth }) if depth < opts.depth => {
                Role::Page { depth: depth + 1 }
            }
            (Via::Quoted, _) => Role::Asset { level: 1 },
            (Via::SourceMap, _) => Role::Asset { level: 2 },
            _ => return,
        };
        let Some(url) = reference.url else {
            self.skipped.insert(reference.raw);
            return;
        };
        if scope::carries_key(&reference.raw) || scope::carries_key(url.as_str()) {
            self.skipped.insert(reference.raw);
            return;
        }
        let url = scope::canonical(&url);
        let name = url.to_string();
        if !scope.allows(&url) {
            self.skipped.insert(name);
            return;
        }
        if self.seen.contains(&name) {
            return;
        }
        if matches!(role, Role::Page { .. }) {
            if self.pages >= opts.max_pages {
                self.refused_pages.insert(name.clone());
                self.skipped.insert(name);
                return;
            }
            self.pages += 1;
        }
        self.seen.insert(name);
        self.queue.push_back(Job { url, role, start: false });
    }
}

/// "https://shop.example/…" for a URL that holds a key: enough to say which site.
fn key_free_name(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) if url.host_str().is_some_and(|h| !scope::carries_key(h)) => {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{}{port}/…", url.scheme(), url.host_str().unwrap_or_default())
        }
        _ => redact_keys(text),
    }
}

fn host_of(url: &Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0))
}

struct Crawler<'a, 'e> {
    new_sink: &'a (dyn Fn() -> Sink<'e> + Sync),
    opts: &'a UrlOptions,
    scope: Scope,
    client: Client,
    state: Mutex<State>,
    wake: Condvar,
    collected: Mutex<Collector>,
    maps: maps::Maps,
    progress: Option<indicatif::ProgressBar>,
}

/// Where a redirect leads.
enum Hop {
    Follow(Url),
    /// Already requested (or queued) elsewhere in this run: nothing more to do here.
    Covered,
    Refused(String),
}

impl Crawler<'_, '_> {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One worker: takes jobs until the queue is empty and nothing is in flight.
    fn work(&self) {
        let mut sink = (self.new_sink)();
        while let Some(job) = self.next_job() {
            // A job that panicked must still be finished, or the other workers would wait
            // for it forever; it becomes an error entry instead.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.process(&job, &mut sink)
            }));
            let (refs, found) = outcome.unwrap_or_else(|_| {
                sink.out.error(job.name(), "internal error while fetching or scanning this URL");
                (Vec::new(), None)
            });
            self.finish_job(&job, refs, found);
        }
        self.collected.lock().unwrap_or_else(|p| p.into_inner()).merge(sink.into_collected());
    }

    fn next_job(&self) -> Option<Job> {
        let per_host = self.opts.per_host_concurrency.max(1);
        let mut state = self.lock();
        loop {
            let ready = state.queue.iter().position(|job| {
                state.per_host.get(&host_of(&job.url)).copied().unwrap_or(0) < per_host
            });
            if let Some(job) = ready.and_then(|i| state.queue.remove(i)) {
                state.in_flight += 1;
                *state.per_host.entry(host_of(&job.url)).or_default() += 1;
                return Some(job);
            }
            if state.in_flight == 0 {
                return None;
            }
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn finish_job(&self, job: &Job, refs: Vec<Reference>, found: Option<(u64, u64)>) {
        let mut state = self.lock();
        state.in_flight -= 1;
        if let Some(count) = state.per_host.get_mut(&host_of(&job.url)) {
            *count = count.saturating_sub(1);
        }
        for reference in refs {
            state.admit(reference, job.role, self.opts, &self.scope);
        }
        if let Some((bytes, findings)) = found {
            match job.role {
                Role::Page { .. } => state.pages_done += 1,
                Role::Asset { .. } => state.assets_done += 1,
            }
            state.bytes += bytes;
            state.findings += findings;
        }
        if let Some(bar) = &self.progress {
            let count =
                |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
            bar.set_message(format!(
                "{}, {}, {}, {}",
                count(state.pages_done, "page", "pages"),
                count(state.assets_done, "asset", "assets"),
                fetch::format_bytes(state.bytes),
                count(state.findings, "finding", "findings"),
            ));
        }
        drop(state);
        self.wake.notify_all();
    }

    /// Requests a job's URL (hop by hop), scans the body and returns its references and,
    /// when a body was scanned, (bytes, findings).
    fn process(&self, job: &Job, sink: &mut Sink<'_>) -> (Vec<Reference>, Option<(u64, u64)>) {
        let mut chain = vec![job.url.clone()];
        loop {
            let url = chain.last().expect("the chain starts with the job's URL").clone();
            if !self.claim_request(&url) {
                if job.start {
                    self.unreachable(
                        job,
                        format!("not requested: --max-requests {} reached", self.opts.max_requests),
                    );
                }
                return (Vec::new(), None);
            }
            let reply = match self.client.get(&url) {
                Ok(reply) => reply,
                Err(message) => {
                    self.fail(job, &url, message, &mut sink.out);
                    return (Vec::new(), None);
                }
            };
            match reply {
                Reply::Body(fetched) => return self.scan_body(job, &url, fetched, sink),
                Reply::Redirect { status, location } => match self.hop(&chain, &location) {
                    Hop::Follow(next) => chain.push(next),
                    Hop::Covered => return (Vec::new(), None),
                    Hop::Refused(why) => {
                        // Named by the URL that was referenced, which the chain starts from.
                        let message = format!("HTTP {status} redirect {why}");
                        self.fail(job, &job.url, message, &mut sink.out);
                        return (Vec::new(), None);
                    }
                },
            }
        }
    }

    /// Counts a request against `--max-requests`; false when the cap is reached.
    fn claim_request(&self, url: &Url) -> bool {
        let mut state = self.lock();
        if state.requests >= self.opts.max_requests {
            state.refused_requests.insert(url.to_string());
            state.skipped.insert(url.to_string());
            return false;
        }
        state.requests += 1;
        true
    }

    /// Checks a redirect's target before it is requested: a valid http(s) URL, no key,
    /// in scope, not a loop, within the hop limit, not already requested in this run.
    fn hop(&self, chain: &[Url], location: &str) -> Hop {
        let from = chain.last().expect("a redirect comes from a requested URL");
        let Ok(target) = from.join(location.trim()) else {
            return Hop::Refused("to an invalid Location".into());
        };
        let mut state = self.lock();
        if scope::carries_key(location) || scope::carries_key(target.as_str()) {
            state.skipped.insert(location.to_string());
            return Hop::Refused("to a URL that holds a private key: not requested".into());
        }
        let target = scope::canonical(&target);
        let name = target.to_string();
        if !self.scope.allows(&target) {
            state.skipped.insert(name.clone());
            let hint = target
                .host_str()
                .filter(|_| scope::is_http(&target))
                .map(|h| match target.port() {
                    Some(port) => format!("; add --allow-host {h}:{port} to follow it"),
                    None => format!("; add --allow-host {h} to follow it"),
                })
                .unwrap_or_default();
            return Hop::Refused(format!("to {name}, which is out of scope: not requested{hint}"));
        }
        if chain.contains(&target) {
            let path: Vec<String> = chain.iter().chain([&target]).map(Url::to_string).collect();
            return Hop::Refused(format!("loop: {}", path.join(" -> ")));
        }
        if chain.len() > MAX_HOPS {
            return Hop::Refused(format!("chain longer than {MAX_HOPS} hops: stopped at {name}"));
        }
        if !state.seen.insert(name) {
            return Hop::Covered;
        }
        Hop::Follow(target)
    }

    /// An `errors` entry for `url` (the hop that failed); for a start URL, also the reason
    /// the run fails, named by the start URL.
    fn fail(&self, job: &Job, url: &Url, message: String, out: &mut Collector) {
        out.error(url.to_string(), message.clone());
        if job.start {
            let why = match url == &job.url {
                true => message,
                false => format!("{message} (at {url}, after redirects)"),
            };
            self.unreachable(job, why);
        }
    }

    fn unreachable(&self, job: &Job, message: String) {
        self.lock().unreachable.push(ScanError::new(job.name(), message));
    }

    fn scan_body(
        &self,
        job: &Job,
        url: &Url,
        fetched: Fetched,
        sink: &mut Sink<'_>,
    ) -> (Vec<Reference>, Option<(u64, u64)>) {
        let name = url.to_string();
        if let Some(problem) = &fetched.problem {
            sink.out.error(&name, problem);
        }
        let blob = Blob {
            display: name.clone(),
            root_relative: name.clone(),
            traits_path: name.clone(),
            served: true,
            ..Blob::default()
        };
        let findings_before = sink.out.findings.len();
        let mut body = fetched.body.as_slice();
        let scanned = sink.file(&mut body, &blob);
        let out = &mut sink.out;
        match scanned {
            Ok(bytes) => {
                out.files_scanned += 1;
                out.bytes_scanned += bytes;
            }
            Err(err) => out.error(&name, crate::sanitize::describe_io_error(&err)),
        }
        let kind = Kind::of(fetched.content_type.as_deref(), url, &fetched.body);
        let is_script = matches!(kind, Kind::Script | Kind::Style);
        let header = fetched.source_map.as_deref();
        let new = &out.findings[findings_before..];
        if let Some(why) = self.maps.after_scan(url, &fetched.body, header, is_script, new) {
            out.error(&name, why);
        }
        let found = (fetched.body.len() as u64, (out.findings.len() - findings_before) as u64);
        (self.references(job, url, &fetched), Some(found))
    }

    /// What a body leads to, given what it is and how it was reached.
    fn references(&self, job: &Job, url: &Url, fetched: &Fetched) -> Vec<Reference> {
        let kind = Kind::of(fetched.content_type.as_deref(), url, &fetched.body);
        match (kind, job.role) {
            (Kind::Html, Role::Page { .. }) => links::from_html(&fetched.body, url),
            (Kind::Script | Kind::Style, Role::Page { .. } | Role::Asset { level: 0 | 1 }) => {
                let quoted = !matches!(job.role, Role::Asset { level: 1 });
                let mut refs = links::from_script(&fetched.body, url, quoted);
                if let Some(header) = &fetched.source_map {
                    refs.push(links::from_source_map_header(header, url));
                }
                refs
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"; // pkscan:allow

    #[test]
    fn keys_are_redacted_in_names() {
        assert_eq!(
            redact_keys(&format!("https://x.example/?k={KEY}")),
            "https://x.example/?k=pk_8e1f…52"
        );
        assert_eq!(
            key_free_name(&format!("https://x.example/a/{KEY}/b.js")),
            "https://x.example/…"
        );
    }

    #[test]
    fn references_become_jobs_only_in_scope_once_and_within_caps() {
        let start = Url::parse("http://127.0.0.1:9/").unwrap();
        let scope = Scope::new(std::slice::from_ref(&start), &[]).unwrap();
        let opts = UrlOptions { max_pages: 2, ..UrlOptions::default() };
        let mut state = State::default();
        state.admit_start(&Start { text: start.to_string(), url: Some(start.clone()) }, &scope);
        let r = |raw: &str, via| Reference { raw: raw.into(), url: start.join(raw).ok(), via };
        let page = Role::Page { depth: 0 };
        for reference in [
            r("/a.js", Via::Load),
            r("/a.js#x", Via::Load),
            r("http://127.0.0.2:9/b.js", Via::Load),
            r(&format!("/c.js?k={KEY}"), Via::Load),
            r("/p1", Via::Link),
            r("/p2", Via::Link),
            r("mailto:x@y.example", Via::Link),
        ] {
            state.admit(reference, page, &opts, &scope);
        }
        let queued: Vec<_> = state.queue.iter().map(|j| (j.url.to_string(), j.role)).collect();
        assert_eq!(
            queued,
            vec![
                ("http://127.0.0.1:9/".to_string(), Role::Page { depth: 0 }),
                ("http://127.0.0.1:9/a.js".to_string(), Role::Asset { level: 0 }),
                ("http://127.0.0.1:9/p1".to_string(), Role::Page { depth: 1 }),
            ]
        );
        assert_eq!(state.skipped.len(), 4, "{:?}", state.skipped.len());
        assert_eq!(state.refused_pages.len(), 1);
        // Links from a page at the last depth are not followed at all.
        let before = state.queue.len();
        state.admit(r("/p3", Via::Link), Role::Page { depth: 1 }, &opts, &scope);
        assert_eq!(state.queue.len(), before);
    }
}
