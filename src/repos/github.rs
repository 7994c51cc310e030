//! `--github-org` / `--github-user`: an owner's repositories through GitHub's REST API,
//! page by page along `Link: rel="next"`, waiting out a rate limit when the wait is short
//! and naming when to retry when it is not. `GITHUB_TOKEN` goes only to the API's origin
//! and to clone URLs of that origin (for api.github.com, also github.com).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::source::{name_of, origin_of, Credentials, Location, Repository};

/// GitHub's public API.
pub(crate) const DEFAULT_API_BASE: &str = "https://api.github.com";
/// Most bytes read of one page of the listing.
const MAX_PAGE_BYTES: u64 = 32 << 20;
/// Most pages followed (100 repositories each).
const MAX_PAGES: usize = 10_000;
/// Most rate-limit waits in one listing.
const MAX_WAITS: usize = 5;

/// Whose repositories, and how to ask for them.
#[derive(Clone, Debug)]
pub struct Listing {
    pub owner: Owner,
    /// `https://api.github.com`, a GitHub Enterprise `https://host/api/v3`, or plain http
    /// on loopback for tests.
    pub api_base: String,
    pub skip_forks: bool,
    pub skip_archived: bool,
    /// `GITHUB_TOKEN`; `Debug` of [`Listing`] never shows it.
    pub token: Option<Token>,
    /// The longest rate-limit wait accepted before failing with when to retry.
    pub max_wait: Duration,
}

#[derive(Clone, Debug)]
pub enum Owner {
    Org(String),
    User(String),
}

/// A token; its `Debug` is a placeholder.
#[derive(Clone)]
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

#[derive(Deserialize)]
struct WireRepo {
    full_name: String,
    clone_url: String,
    #[serde(default)]
    fork: bool,
    #[serde(default)]
    archived: bool,
}

/// Every repository of the owner, forks and archived ones left out when asked.
pub(crate) fn list(listing: &Listing) -> Result<Vec<Repository>> {
    let base = url::Url::parse(&listing.api_base)
        .with_context(|| format!("--github-api-base {:?} is not a URL", listing.api_base))?;
    let api_origin = origin_of(&base);
    let path = match &listing.owner {
        Owner::Org(org) => format!("orgs/{}/repos?per_page=100&type=all", encode(org)),
        Owner::User(user) => format!("users/{}/repos?per_page=100&type=owner", encode(user)),
    };
    let mut next = Some(format!("{}/{path}", listing.api_base.trim_end_matches('/')));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .user_agent(concat!("pkscan/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut repos = Vec::new();
    let mut waits = 0;
    for _ in 0..MAX_PAGES {
        let Some(url) = next.take() else { break };
        if url::Url::parse(&url).map(|u| origin_of(&u)).ok().as_deref() != Some(&api_origin) {
            bail!(
                "GitHub's API sent a next page on another origin ({}); not followed",
                name_of_str(&url)
            );
        }
        match fetch_page(&agent, &url, listing.token.as_ref())? {
            Page::Listed { items, next: link } => {
                repos.extend(
                    items
                        .into_iter()
                        .filter(|r| keep(listing, r))
                        .map(|r| repository(listing, &api_origin, r)),
                );
                next = link;
            }
            Page::RateLimited { wait, .. } if waits < MAX_WAITS && wait <= listing.max_wait => {
                waits += 1;
                std::thread::sleep(wait);
                next = Some(url);
            }
            Page::RateLimited { until, .. } => bail!(
                "GitHub's API rate limit is reached; try again after {until}{}",
                if listing.token.is_none() {
                    " (or set GITHUB_TOKEN for a higher limit)"
                } else {
                    ""
                }
            ),
        }
    }
    if next.is_some() {
        bail!("GitHub's API listed more than {MAX_PAGES} pages; stopped");
    }
    Ok(repos)
}

fn keep(listing: &Listing, repo: &WireRepo) -> bool {
    let skipped = (listing.skip_forks && repo.fork) || (listing.skip_archived && repo.archived);
    !skipped
}

/// A listed repository, with the token only when its clone URL is on the API's origin
/// (or github.com for api.github.com).
fn repository(listing: &Listing, api_origin: &str, repo: WireRepo) -> Repository {
    let parsed = url::Url::parse(&repo.clone_url).ok();
    let origin = parsed.as_ref().map(origin_of).unwrap_or_default();
    let trusted =
        origin == api_origin || (api_origin == DEFAULT_API_BASE && origin == "https://github.com");
    let credentials = listing.token.as_ref().filter(|_| trusted).map(|token| Credentials {
        origin: origin.clone(),
        username: "x-access-token".into(),
        password: token.0.clone(),
    });
    Repository {
        name: repo.full_name,
        location: Location::Remote { url: repo.clone_url, credentials },
    }
}

enum Page {
    Listed { items: Vec<WireRepo>, next: Option<String> },
    RateLimited { wait: Duration, until: String },
}

fn fetch_page(agent: &ureq::Agent, url: &str, token: Option<&Token>) -> Result<Page> {
    let shown = name_of_str(url);
    let mut request = agent
        .get(url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {}", token.0));
    }
    let mut response = request.call().map_err(|err| {
        let text = err.to_string();
        let text = token.map_or(text.clone(), |t| text.replace(&t.0, "…"));
        anyhow::anyhow!(
            "cannot list repositories from {shown}: {}",
            crate::sanitize::escape_control(&text)
        )
    })?;
    let header =
        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let status = response.status().as_u16();
    let (retry_after, remaining, reset, link) = (
        header("retry-after"),
        header("x-ratelimit-remaining"),
        header("x-ratelimit-reset"),
        header("link"),
    );
    if status == 429
        || (status == 403 && (retry_after.is_some() || remaining.as_deref() == Some("0")))
    {
        return Ok(rate_limited(retry_after.as_deref(), reset.as_deref()));
    }
    if status != 200 {
        bail!(
            "cannot list repositories from {shown}: HTTP {status}{}",
            match status {
                401 => " (GITHUB_TOKEN was refused)",
                404 => " (no such organisation or user, or not visible to GITHUB_TOKEN)",
                _ => "",
            }
        );
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_PAGE_BYTES)
        .read_to_vec()
        .with_context(|| format!("cannot read the repository list from {shown}"))?;
    let items: Vec<WireRepo> = serde_json::from_slice(&body)
        .with_context(|| format!("{shown} did not answer with a list of repositories"))?;
    Ok(Page::Listed { items, next: link.as_deref().and_then(next_link) })
}

/// How long to wait: `Retry-After` seconds, else until `X-RateLimit-Reset` (Unix time).
fn rate_limited(retry_after: Option<&str>, reset: Option<&str>) -> Page {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let after = retry_after.and_then(|s| s.trim().parse::<u64>().ok());
    let reset = reset.and_then(|s| s.trim().parse::<u64>().ok());
    let wait_secs = after.or(reset.map(|r| r.saturating_sub(now))).unwrap_or(60);
    let at = now + wait_secs;
    let until = time::OffsetDateTime::from_unix_timestamp(at as i64)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{wait_secs} s"));
    Page::RateLimited { wait: Duration::from_secs(wait_secs), until }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

fn name_of_str(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| "the API".to_string(), |u| name_of(&u))
}

/// An owner name as one path segment.
fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_name_the_next_page() {
        let header = r#"<https://api.example/orgs/a/repos?page=3>; rel="next", <https://api.example/orgs/a/repos?page=9>; rel="last""#;
        assert_eq!(next_link(header).as_deref(), Some("https://api.example/orgs/a/repos?page=3"));
        assert_eq!(next_link(r#"<https://x/1>; rel="prev""#), None);
    }

    #[test]
    fn the_token_goes_only_to_clones_of_the_api_origin() {
        let listing = Listing {
            owner: Owner::Org("acme".into()),
            api_base: DEFAULT_API_BASE.into(),
            skip_forks: false,
            skip_archived: false,
            token: Some(Token("t0ken".into())),
            max_wait: Duration::ZERO,
        };
        let has_token = |api_origin: &str, clone_url: &str| {
            let wire = WireRepo {
                full_name: "acme/a".into(),
                clone_url: clone_url.into(),
                fork: false,
                archived: false,
            };
            match repository(&listing, api_origin, wire).location {
                Location::Remote { credentials, .. } => credentials.is_some(),
                Location::Local(_) => false,
            }
        };
        assert!(has_token(DEFAULT_API_BASE, "https://github.com/acme/a.git"));
        assert!(has_token(DEFAULT_API_BASE, "https://api.github.com/acme/a.git"));
        assert!(!has_token(DEFAULT_API_BASE, "https://github.com:8443/acme/a.git"));
        assert!(!has_token(DEFAULT_API_BASE, "https://gitlab.example/acme/a.git"));
        assert!(has_token("https://ghe.example", "https://ghe.example/acme/a.git"));
        assert!(!has_token("https://ghe.example", "https://github.com/acme/a.git"));
        assert!(!has_token("https://ghe.example", "http://ghe.example/acme/a.git"));
    }

    #[test]
    fn owners_are_one_segment() {
        assert_eq!(encode("acme-inc"), "acme-inc");
        assert_eq!(encode("../x?y"), "%2E%2E%2Fx%3Fy");
    }
}
