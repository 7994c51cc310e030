//! What `pkscan repos` was given, as repositories: a local path (scanned in place) or a
//! clone URL (named without its credentials, which are kept apart and never shown).

use std::path::PathBuf;

use anyhow::{bail, Result};

/// One repository to audit.
#[derive(Clone, Debug)]
pub(crate) struct Repository {
    /// As reports name it: `acme/shop`, a URL without credentials, query or `.git`, or
    /// the local path as given.
    pub name: String,
    pub location: Location,
}

#[derive(Clone, Debug)]
pub(crate) enum Location {
    /// A repository on this machine, scanned where it is.
    Local(PathBuf),
    /// Cloned (as a bare mirror) from `url`, which holds no credentials.
    Remote { url: String, credentials: Option<Credentials> },
}

/// A user name and password or token for one origin. `Debug` never shows the password.
#[derive(Clone)]
pub(crate) struct Credentials {
    /// `scheme://host[:port]` they may be sent to.
    pub origin: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, {}, …)", self.origin, self.username)
    }
}

/// A SOURCE argument or line: a URL (it has `://`), git's scp-like SSH form
/// (`git@github.com:acme/shop.git`, as `gh repo list --json sshUrl` prints it), or a
/// local path.
pub(crate) fn parse(source: &str) -> Result<Repository> {
    if let Some(ssh) = scp_like(source) {
        return Ok(Repository {
            name: name_of(&ssh),
            location: Location::Remote { url: source.to_string(), credentials: None },
        });
    }
    if !source.contains("://") {
        let path = PathBuf::from(source);
        return Ok(Repository {
            name: crate::paths::display_path(&path),
            location: Location::Local(path),
        });
    }
    let Ok(mut url) = url::Url::parse(source) else {
        bail!("{} is not a URL or a path", shown_source(source));
    };
    match url.scheme() {
        "https" | "ssh" | "git" | "file" => {}
        "http" if is_loopback(&url) => {}
        "http" => bail!("{}: plain http is accepted on loopback only; use https://", name_of(&url)),
        other => bail!(
            "{}: unsupported scheme {other:?}; use https://, ssh://, git:// or file://",
            name_of(&url)
        ),
    }
    let credentials = match url.password() {
        Some(password) if matches!(url.scheme(), "https" | "http") => Some(Credentials {
            origin: origin_of(&url),
            username: percent_decode(url.username()),
            password: percent_decode(password),
        }),
        _ => None,
    };
    let _ = url.set_password(None);
    if credentials.is_some() {
        let _ = url.set_username("");
    }
    Ok(Repository {
        name: name_of(&url),
        location: Location::Remote { url: url.to_string(), credentials },
    })
}

/// `user@host:path` as git reads it (a colon before any slash, and no such file here), as
/// the `ssh://` URL that names the same repository.
fn scp_like(source: &str) -> Option<url::Url> {
    let (user_host, path) = source.split_once(':')?;
    let (user, host) = user_host.split_once('@')?;
    let plain = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    };
    if !plain(user) || !plain(host) || path.is_empty() || path.starts_with("//") {
        return None;
    }
    if std::path::Path::new(source).exists() {
        return None;
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    url::Url::parse(&format!("ssh://{user}@{host}/{path}")).ok()
}

/// `scheme://host[:port]`, the port only when not the scheme's default.
pub(crate) fn origin_of(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// The URL as reports name it: no credentials, query or fragment, no trailing `/` or `.git`.
pub(crate) fn name_of(url: &url::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.set_query(None);
    url.set_fragment(None);
    let text = url.to_string();
    let text = text.trim_end_matches('/');
    text.strip_suffix(".git").unwrap_or(text).to_string()
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// A source that is no URL, shown without anything that looks like credentials.
fn shown_source(source: &str) -> String {
    let cut = source.find('@').map_or(source, |at| &source[at + 1..]);
    crate::sanitize::escape_control(cut)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_named_without_credentials_query_or_git() {
        let repo = parse("https://bot:s3cr%40t@git.example/acme/shop.git?x=1").unwrap();
        assert_eq!(repo.name, "https://git.example/acme/shop");
        let Location::Remote { url, credentials: Some(c) } = repo.location else {
            panic!("not remote with credentials");
        };
        assert_eq!(url, "https://git.example/acme/shop.git?x=1");
        assert_eq!(
            (c.origin.as_str(), c.username.as_str(), c.password.as_str()),
            ("https://git.example", "bot", "s3cr@t")
        );
        assert!(!format!("{c:?}").contains("s3cr"));
        assert_eq!(parse("file:///srv/git/a.git/").unwrap().name, "file:///srv/git/a");
        assert_eq!(parse("some/dir").unwrap().name, "some/dir");
    }

    #[test]
    fn scp_like_ssh_sources_are_remote_and_named_as_ssh_urls() {
        let repo = parse("git@github.com:acme/shop.git").unwrap();
        assert_eq!(repo.name, "ssh://github.com/acme/shop");
        let Location::Remote { url, credentials: None } = repo.location else {
            panic!("not remote without credentials");
        };
        assert_eq!(url, "git@github.com:acme/shop.git", "git is given the form it was given");
        assert_eq!(
            parse("ssh://git@host.example:2222/a/b.git").unwrap().name,
            "ssh://host.example:2222/a/b"
        );
        for local in ["some/dir", "C:/repos/shop", "dir:with/colon", "a@b/c:d", "@host:x", "u@:x"] {
            assert!(matches!(parse(local).unwrap().location, Location::Local(_)), "{local}");
        }
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(parse("http://127.0.0.1:8080/a.git").is_ok());
        assert!(parse("http://git.example/a.git").is_err());
        let err = format!("{:#}", parse("ftp://u:tok@h/a").unwrap_err());
        assert!(!err.contains("tok"), "{err}");
    }
}
