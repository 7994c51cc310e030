//! Mirror clones with the `git` program: `git clone --mirror`, or `git fetch` into a clone
//! kept from an earlier run. Credentials reach git only through its environment and a
//! credential helper scoped to their origin: never in a URL, an argument (which `ps`
//! shows) or a file name. git's own messages are cut short and scrubbed before they
//! reach a report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::source::Credentials;

/// Most bytes of git's stderr kept for an error message.
const STDERR_BYTES: usize = 64 * 1024;

/// The helper git runs for credentials; it reads them from the environment, so they are
/// not on its command line either.
const HELPER: &str = "!f() { test \"$1\" = get && printf 'username=%s\\npassword=%s\\n' \
                      \"$PKSCAN_GIT_USERNAME\" \"$PKSCAN_GIT_PASSWORD\"; }; f";

/// Brings `dest` up to date with `url`: a fresh bare mirror, or a fetch when `dest`
/// already holds one.
pub(crate) fn mirror(url: &str, credentials: Option<&Credentials>, dest: &Path) -> Result<()> {
    let mut cmd = git(credentials);
    if dest.join("HEAD").is_file() {
        cmd.arg("-C").arg(dest).args(["fetch", "--prune", "--quiet", "origin"]);
    } else {
        cmd.args(["clone", "--mirror", "--quiet", "--", url]).arg(dest);
    }
    let output = cmd.output().context("cannot run git (is it installed and on PATH?)")?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = &output.stderr[..output.stderr.len().min(STDERR_BYTES)];
    let mut message = String::from_utf8_lossy(stderr).trim().to_string();
    if let Some(c) = credentials {
        message = message.replace(&c.password, "…");
    }
    let message = crate::sanitize::escape_control(&message);
    bail!("git could not clone it ({}): {message}", output.status)
}

/// `git` with no prompt, no system or user config that could add helpers, and the
/// credentials (if any) offered only to their origin.
fn git(credentials: Option<&Credentials>) -> Command {
    let mut cmd = Command::new("git");
    cmd.stdin(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("PKSCAN_GIT_USERNAME")
        .env_remove("PKSCAN_GIT_PASSWORD");
    let mut config: Vec<(String, String)> = vec![("credential.helper".into(), String::new())];
    if let Some(c) = credentials {
        config.push((format!("credential.{}.helper", c.origin), HELPER.into()));
        cmd.env("PKSCAN_GIT_USERNAME", &c.username).env("PKSCAN_GIT_PASSWORD", &c.password);
    }
    cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (key, value)) in config.iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), key).env(format!("GIT_CONFIG_VALUE_{i}"), value);
    }
    cmd
}

/// A folder name for `name`'s clone: its safe characters and a hash, so two names never
/// share one and no name can climb out of the parent.
pub(crate) fn folder_name(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let safe: String = name
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let digest = hex::encode(&Sha256::digest(name.as_bytes())[..6]);
    format!("{safe}-{digest}.git")
}

/// A fresh, empty folder for this run's temporary clones, removed on drop.
pub(crate) struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub(crate) fn new() -> Result<Scratch> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("pkscan-repos-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create a temporary folder {}", dir.display()))?;
        Ok(Scratch { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_stay_inside_and_apart() {
        let a = folder_name("https://git.example/../../etc");
        assert!(!a.contains('/') && !a.contains(".."), "{a}");
        assert_ne!(folder_name("a/b"), folder_name("a_b"));
    }
}
