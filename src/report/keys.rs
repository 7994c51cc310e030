//! One answer per leaked key: the report's `keys`, built once from the final findings
//! (after sorting, suppression and `--verify`), with what the history source learned of
//! each key and the public keys the run saw. Printers read `report.keys`; nothing here
//! scans or prints.

use std::collections::HashMap;

use crate::finding::{
    Exposure, Finding, Key, KeyHistory, PublicApiKey, PublicKeySeen, PublicKeySource, Report,
    Secret, VerificationStatus,
};
use crate::rules::KeyRule;

/// Places named in one fix step before the rest are counted.
const PLACES_SHOWN: usize = 3;

/// Fills `report.keys`: one entry per distinct built-in key among the findings, sorted by
/// severity (most severe first), then `secret_sha256`. `exposures` is `Some` for history
/// scans (`git`), keyed by the raw key.
pub(crate) fn build(report: &mut Report, exposures: Option<&HashMap<Secret, Exposure>>) {
    let mut grouped: HashMap<&Secret, Vec<&Finding>> = HashMap::new();
    for finding in report.findings.iter().filter(|f| key_rule(f).is_some()) {
        grouped.entry(&finding.secret).or_default().push(finding);
    }
    let mut keys: Vec<Key> = grouped
        .into_iter()
        .map(|(secret, findings)| {
            let history = exposures.map(|all| history_of(all.get(secret), &findings));
            key_of(secret, &findings, history, &report.public_keys_seen)
        })
        .collect();
    keys.sort_by_cached_key(|k| (std::cmp::Reverse(k.severity), k.secret.sha256_hex()));
    report.keys = keys;
}

/// Whether a finding is of a built-in rule, and so of a key.
pub(crate) fn is_key_finding(finding: &Finding) -> bool {
    key_rule(finding).is_some()
}

/// The built-in rule of a finding; `None` for custom rules, which are no keys.
fn key_rule(finding: &Finding) -> Option<KeyRule> {
    KeyRule::ALL.into_iter().find(|rule| rule.id() == finding.rule_id)
}

fn key_of(
    secret: &Secret,
    findings: &[&Finding],
    history: Option<KeyHistory>,
    seen: &[PublicKeySeen],
) -> Key {
    let mut rules: Vec<String> = findings.iter().map(|f| f.rule_id.clone()).collect();
    rules.sort();
    rules.dedup();
    let verification = findings.iter().find_map(|f| f.verification.clone());
    let public_api_key = public_api_key(verification.as_ref(), seen);
    let mut key = Key {
        secret: secret.clone(),
        severity: findings.iter().map(|f| f.severity).max().expect("a key has a finding"),
        rules,
        findings: findings.iter().map(|f| f.fingerprint()).collect(),
        history,
        public_api_key,
        public_keys_seen: seen.to_vec(),
        verification,
        fix: Vec::new(),
        repositories: Vec::new(),
    };
    key.fix = fix_steps(&key, findings);
    key
}

/// From `--verify` when Klaviyo named the account's public key, else the one public key
/// the run saw, else none.
pub(crate) fn public_api_key(
    verification: Option<&crate::finding::Verification>,
    seen: &[PublicKeySeen],
) -> Option<PublicApiKey> {
    let verified = verification
        .filter(|v| v.status == VerificationStatus::Live)
        .and_then(|v| v.public_api_key.clone());
    match (verified, seen) {
        (Some(id), _) => Some(PublicApiKey { id, source: PublicKeySource::Verify }),
        (None, [only]) => Some(PublicApiKey { id: only.id.clone(), source: PublicKeySource::Seen }),
        _ => None,
    }
}

/// The report's view of a key's history: the exposure as the source found it, with
/// `introduced` chosen among the commits of the findings still reported.
fn history_of(exposure: Option<&Exposure>, findings: &[&Finding]) -> KeyHistory {
    let commits: Vec<_> = findings.iter().filter_map(|f| f.commit.as_ref()).collect();
    let exposure = exposure.cloned().unwrap_or_default();
    let introduced = exposure
        .introductions
        .iter()
        .find_map(|id| commits.iter().find(|c| &c.id == id))
        .or_else(|| commits.first())
        .map(|c| (*c).clone());
    KeyHistory {
        introduced,
        removed: exposure.removed,
        in_head: exposure.in_head,
        refs: exposure.refs,
    }
}

/// For a finding in a public-key slot whose replacement is known: "replace it with your
/// public key AbC123, as in templates/base.html:12" (where the run saw it).
pub(crate) fn public_key_fix(report: &Report, finding: &Finding) -> Option<String> {
    let slot = [KeyRule::CompanyId, KeyRule::Token, KeyRule::Account];
    if !key_rule(finding).is_some_and(|rule| slot.contains(&rule)) {
        return None;
    }
    let key = report.keys.iter().find(|k| k.secret == finding.secret)?;
    let public = key.public_api_key.as_ref()?;
    let mut fix = format!("replace it with your public key {}", public.id);
    if let Some(seen) = key.public_keys_seen.iter().find(|s| s.id == public.id) {
        fix.push_str(&format!(", as in {}:{}", seen.path, seen.line));
    }
    fix.push_str(", then rotate the private key.");
    Some(fix)
}

/// How many distinct `path:line` places the findings are at.
pub(crate) fn distinct_places(findings: &[&Finding]) -> usize {
    let mut places: Vec<(&str, u64)> = findings.iter().map(|f| (f.path.as_str(), f.line)).collect();
    places.sort_unstable();
    places.dedup();
    places.len()
}

/// `path:line` of each finding, the first few named and the rest counted.
pub(crate) fn places(findings: &[&Finding]) -> String {
    let mut named: Vec<String> = Vec::new();
    for f in findings {
        let place = format!("{}:{}", crate::report::escape_control(&f.path), f.line);
        if !named.contains(&place) {
            named.push(place);
        }
    }
    let rest = named.len().saturating_sub(PLACES_SHOWN);
    named.truncate(PLACES_SHOWN);
    let mut text = named.join(", ");
    if rest > 0 {
        text.push_str(&format!(" and {rest} more"));
    }
    text
}

/// The steps, in order, that un-leak `key` (Klaviyo's own procedure).
pub(crate) fn fix_steps(key: &Key, findings: &[&Finding]) -> Vec<String> {
    let of = |rules: &[KeyRule]| -> Vec<&Finding> {
        findings
            .iter()
            .copied()
            .filter(|f| key_rule(f).is_some_and(|r| rules.contains(&r)))
            .collect()
    };
    let slots = of(&[KeyRule::CompanyId, KeyRule::Token, KeyRule::Account]);
    let served = of(&[KeyRule::PublicAsset]);
    let server = of(&[KeyRule::Generic]);
    if slots.is_empty() && served.is_empty() && server.is_empty() {
        return vec![
            "It looks like an example or placeholder, not a real key: nothing to rotate. If it is \
             real, treat it as leaked: create a new private key and delete this one in Klaviyo."
                .to_string(),
        ];
    }
    let mut steps = Vec::new();
    if let Some(history) = key.history.as_ref().filter(|h| !h.in_head) {
        steps.push(match history.refs.as_slice() {
            [] => "It is no longer in HEAD but stays in the history: rewriting history does not \
                   recall clones and forks, so rotating it (below) is what un-leaks it."
                .to_string(),
            refs => format!(
                "It is no longer in HEAD but {} still {} it: remove it there too, and rotate it \
                 (below), as rewriting history does not recall clones and forks.",
                refs.join(", "),
                if refs.len() == 1 { "holds" } else { "hold" }
            ),
        });
    }
    if !slots.is_empty() {
        let public = match &key.public_api_key {
            Some(public) => format!("your public key {}", public.id),
            None => "your account's public key (site ID, 6 characters, under Settings > API keys)"
                .to_string(),
        };
        steps.push(format!("Replace it with {public} in {}.", places(&slots)));
    }
    if !served.is_empty() {
        steps.push(format!(
            "Move it out of files served to browsers and apps ({}): a private key belongs only \
             on a server.",
            places(&served)
        ));
    }
    if !server.is_empty() {
        steps.push(format!(
            "Move it out of the code into a secret store or the environment ({}).",
            places(&server)
        ));
    }
    if key.verification.as_ref().is_some_and(|v| v.status == VerificationStatus::Invalid) {
        steps
            .push("Klaviyo already rejects this key: nothing to rotate once it is removed.".into());
        return steps;
    }
    steps.push(
        "Create a new private key for each integration that used it, with a clear label and \
         the narrowest scope."
            .into(),
    );
    steps.push("Update each integration with its new key.".into());
    steps.push(format!(
        "Delete the exposed key {} in Klaviyo (Settings > API keys); Klaviyo deletes without \
         asking, so check that it is this one.",
        key.secret.redacted()
    ));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Verification;

    fn seen(id: &str) -> PublicKeySeen {
        PublicKeySeen { id: id.into(), path: "a.html".into(), line: 1 }
    }

    fn verified(status: VerificationStatus, public: Option<&str>) -> Verification {
        Verification {
            status,
            public_api_key: public.map(str::to_string),
            account_id: None,
            account_name: None,
            checked_at: String::new(),
            detail: String::new(),
        }
    }

    #[test]
    fn the_public_key_comes_from_verify_then_from_the_only_one_seen() {
        let from = |v: Option<&Verification>, s: &[PublicKeySeen]| {
            public_api_key(v, s).map(|p| (p.id, p.source))
        };
        let live = verified(VerificationStatus::Live, Some("XyZ789"));
        let one = [seen("AbC123")];
        let two = [seen("AbC123"), seen("XyZ789")];
        assert_eq!(from(Some(&live), &one), Some(("XyZ789".into(), PublicKeySource::Verify)));
        assert_eq!(from(Some(&live), &[]), Some(("XyZ789".into(), PublicKeySource::Verify)));
        assert_eq!(from(None, &one), Some(("AbC123".into(), PublicKeySource::Seen)));
        let unknown = verified(VerificationStatus::Unknown, None);
        assert_eq!(from(Some(&unknown), &one), Some(("AbC123".into(), PublicKeySource::Seen)));
        assert_eq!(from(None, &two), None);
        assert_eq!(from(None, &[]), None);
    }
}
