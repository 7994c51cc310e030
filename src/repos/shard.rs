//! `--shard K/N`: which repositories this run takes. A repository belongs to one shard,
//! decided by the SHA-256 of its normalised name alone, so adding a repository to an
//! organisation moves no other one, and the shards of one listing cover it exactly once.

use anyhow::{bail, Result};
use sha2::{Digest, Sha256};

/// Shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Shard> {
        let parsed = text.split_once('/').and_then(|(k, n)| {
            Some((k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
        });
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => bail!(
                "--shard {:?}: expected K/N with 1 ≤ K ≤ N, e.g. --shard 2/8",
                crate::sanitize::escape_control(text)
            ),
        }
    }

    /// Whether the repository named `name` falls in this shard.
    pub fn holds(&self, name: &str) -> bool {
        let digest = Sha256::digest(normalise(name).as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % self.count == self.index - 1
    }
}

/// The name as sharding sees it: trimmed, without trailing slashes, lowercase (GitHub
/// names are case-insensitive).
fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('/').to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!(Shard::parse("2/7").unwrap(), Shard { index: 2, count: 7 });
        for bad in ["0/3", "4/3", "1", "a/b", "1/0", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_name_is_in_exactly_one_shard() {
        for n in [1, 3, 7] {
            for i in 0..50 {
                let name = format!("acme/repo-{i}");
                let holders = (1..=n).filter(|&k| Shard { index: k, count: n }.holds(&name));
                assert_eq!(holders.count(), 1, "{name} in {n} shards");
            }
        }
        let shard = Shard { index: 1, count: 3 };
        assert_eq!(shard.holds("Acme/Shop/"), shard.holds("acme/shop"));
    }
}
