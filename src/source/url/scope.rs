//! Which URLs `pkscan url` may request, and how a URL is named in the report.
//!
//! The scope is a set of hosts, each with its port: the start URLs' hosts and those given
//! with `--allow-host`. Schemes do not matter (a `http://` link on a `https://` site is the
//! same site) but ports do. Separately, a URL that carries something shaped like a private
//! key is never requested at all, on any host: requesting it would hand the key to that
//! host and its logs. This module decides; it does not fetch or count.

use std::collections::HashSet;

use anyhow::{bail, Context, Result};
use url::Url;

use crate::detect;

/// Hosts that may be requested, as (lowercase host, port unless a default one).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    hosts: HashSet<(String, Option<u16>)>,
}

impl Scope {
    /// The hosts of `starts`, plus each `--allow-host HOST[:PORT]`.
    pub(crate) fn new(starts: &[Url], allow_hosts: &[String]) -> Result<Scope> {
        let mut hosts: HashSet<_> = starts.iter().filter_map(host_key).collect();
        for host in allow_hosts {
            hosts.insert(parse_allow_host(host)?);
        }
        Ok(Scope { hosts })
    }

    /// True for an `http`/`https` URL on an allowed host and port.
    pub(crate) fn allows(&self, url: &Url) -> bool {
        is_http(url) && host_key(url).is_some_and(|key| self.hosts.contains(&key))
    }
}

pub(crate) fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// The host and port a URL is scoped by. 80 and 443 count as "the default port", whatever
/// the scheme, so `http://shop.example` and `https://shop.example` are one site.
fn host_key(url: &Url) -> Option<(String, Option<u16>)> {
    let host = url.host_str()?.to_ascii_lowercase();
    let port = url.port_or_known_default().filter(|p| !matches!(p, 80 | 443));
    Some((host, port))
}

fn parse_allow_host(text: &str) -> Result<(String, Option<u16>)> {
    let trimmed = text.trim();
    let bare = !trimmed.is_empty() && !trimmed.contains(['/', '?', '#', '@']);
    let url = bare
        .then(|| Url::parse(&format!("http://{trimmed}/")).ok())
        .flatten()
        .filter(|u| u.host_str().is_some());
    let Some(url) = url else {
        bail!("--allow-host {text:?}: expected a host name with an optional port, e.g. cdn.example.com or 127.0.0.1:8080");
    };
    host_key(&url).context("--allow-host needs a host name")
}

/// The URL as the report names it and as it is requested: no fragment, no user name or
/// password (credentials belong in `--header`), the default port left out.
pub(crate) fn canonical(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    // Both only fail for URLs that cannot have credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    // Next.js writes a dynamic route's chunk as `%5Bid%5D-….js` in its pages and as
    // `[id]-….js` in its build manifest: one file, requested once.
    if url.path().contains('%') {
        let path = url.path().replace("%5B", "[").replace("%5b", "[");
        let path = path.replace("%5D", "]").replace("%5d", "]");
        url.set_path(&path);
    }
    url
}

/// True when `text` holds a private-key-shaped token: as written, percent-decoded (up to
/// three times, for URLs encoded more than once), or inside a base64 run (a track URL's
/// `data=` payload).
pub(crate) fn carries_key(text: &str) -> bool {
    let mut current = text.as_bytes().to_vec();
    for _ in 0..4 {
        if has_key(&current) || base64_runs_have_key(&current) {
            return true;
        }
        let decoded = percent_decode(&current);
        if decoded == current {
            break;
        }
        current = decoded;
    }
    false
}

fn has_key(bytes: &[u8]) -> bool {
    let mut found = false;
    detect::for_each_key(bytes, 0, bytes.len(), |_, _| found = true);
    found
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        if bytes[i] == b'+' {
            out.push(b' ');
        } else {
            out.push(bytes[i]);
        }
        i += 1;
    }
    out
}

/// Base64 (standard or URL-safe) runs long enough to hold a key are decoded and checked.
fn base64_runs_have_key(bytes: &[u8]) -> bool {
    // A 37-byte key is 52 base64 characters; any 3-byte alignment of it needs at least 48.
    const MIN_RUN: usize = 48;
    bytes
        .split(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')))
        .filter(|run| run.len() >= MIN_RUN)
        .any(|run| (0..4).any(|skip| has_key(&base64_decode(&run[skip..]))))
}

/// Lenient decoding: stops at the first character outside the alphabet; padding optional.
fn base64_decode(text: &[u8]) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let Some(v) = value(c) else { break };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"; // pkscan:allow

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn scope_is_host_and_port_whatever_the_scheme() {
        let scope =
            Scope::new(&[url("https://shop.example/")], &["cdn.example:8443".into()]).unwrap();
        assert!(scope.allows(&url("https://shop.example/a.js")));
        assert!(scope.allows(&url("http://SHOP.example/a.js")));
        assert!(!scope.allows(&url("https://shop.example:8080/a.js")));
        assert!(!scope.allows(&url("https://evil.example/a.js")));
        assert!(!scope.allows(&url("ftp://shop.example/a.js")));
        assert!(scope.allows(&url("https://cdn.example:8443/x.css")));
        assert!(!scope.allows(&url("https://cdn.example/x.css")));
        let local = Scope::new(&[url("http://127.0.0.1:4000/")], &[]).unwrap();
        assert!(local.allows(&url("http://127.0.0.1:4000/x")));
        assert!(!local.allows(&url("http://127.0.0.1:4001/x")));
        assert!(!local.allows(&url("http://127.0.0.2:4000/x")));
    }

    #[test]
    fn bad_allow_hosts_are_refused() {
        for bad in ["", "https://x/", "x/y", "user@x", "x:notaport"] {
            assert!(Scope::new(&[], &[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn canonical_drops_fragment_and_credentials() {
        let u = canonical(&url("https://user:pw@Shop.example:443/a/b.js?v=1#frag"));
        assert_eq!(u.as_str(), "https://shop.example/a/b.js?v=1");
        let u = canonical(&url("http://127.0.0.1:8080/x"));
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/x");
        let u = canonical(&url("https://s.example/p/%5Bid%5D-1.js?q=%5B"));
        assert_eq!(u.as_str(), "https://s.example/p/[id]-1.js?q=%5B");
    }

    #[test]
    fn keys_in_urls_are_seen_in_every_encoding() {
        assert!(carries_key(&format!("https://a.example/onsite/js/{KEY}/klaviyo.js")));
        assert!(carries_key(&format!("/x?company_id={KEY}&y=1")));
        let encoded = KEY.replace('_', "%5F");
        assert!(carries_key(&format!("/x?k={encoded}")));
        let twice = KEY.replace('_', "%255F");
        assert!(carries_key(&format!("/x?k={twice}")));
        let payload = format!("{{\"token\":\"{KEY}\",\"event\":\"x\"}}");
        let b64 = base64_encode(payload.as_bytes());
        assert!(carries_key(&format!("/api/track?data={b64}")));
        assert!(!carries_key("/assets/app.3f9a2b.js?v=pk_live_123"));
        assert!(!carries_key("/a/b/c.js"));
    }

    fn base64_encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |acc, b| (acc << 8) | *b as u32) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
