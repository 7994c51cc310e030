//! Is a key-shaped token plainly an example? Real keys are random lowercase hex, so a body
//! of one repeated character, long runs or counting sequences, very few distinct characters
//! or a documented example key is a placeholder (low severity, never a leak).

/// Example keys from Klaviyo's docs and other scanners' tests.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    "pk_abc123def456ghi789jkl0mno123pqrst4", // pkscan:allow
    "pk_abcd1234fghij5678klmn9012opqr3456s", // pkscan:allow
    "pk_1234567890abcdefghijklmnopqrstuvwx", // pkscan:allow
    "pk_0123456789abcdefghijklmnopqrstuvwx", // pkscan:allow
    "pk_abcdefghijklmnopqrstuvwxyz12345678", // pkscan:allow
];

const PLACEHOLDER_WORDS: &[&str] =
    &["xxxx", "example", "sample", "dummy", "placeholder", "redacted", "yourkey", "changeme"];

/// True when `key` (the whole token, `pk_…`) is plainly not a real key.
pub(crate) fn is_placeholder(key: &str) -> bool {
    if DOCUMENTED_EXAMPLES.contains(&key) {
        return true;
    }
    // The newer shape's random part is the hex after the second underscore.
    let body = key.strip_prefix("pk_").unwrap_or(key);
    let body = body.rsplit('_').next().unwrap_or(body).as_bytes();
    let lower = body.to_ascii_lowercase();
    let lower_text = String::from_utf8_lossy(&lower);
    if PLACEHOLDER_WORDS.iter().any(|w| lower_text.contains(w)) {
        return true;
    }
    longest_repeat(&lower) >= 6
        || longest_sequence(&lower) >= 6
        || distinct(&lower) <= 5
        || sequence_step_share(&lower) >= 0.4
}

fn longest_repeat(body: &[u8]) -> usize {
    longest_run(body, |a, b| a == b)
}

fn longest_sequence(body: &[u8]) -> usize {
    longest_run(body, |a, b| b == a.wrapping_add(1) || a == b.wrapping_add(1))
}

fn longest_run(body: &[u8], linked: impl Fn(u8, u8) -> bool) -> usize {
    let mut best = usize::from(!body.is_empty());
    let mut current = best;
    for pair in body.windows(2) {
        current = if linked(pair[0], pair[1]) { current + 1 } else { 1 };
        best = best.max(current);
    }
    best
}

fn distinct(body: &[u8]) -> usize {
    let mut seen = [false; 256];
    body.iter().for_each(|&b| seen[b as usize] = true);
    seen.iter().filter(|&&s| s).count()
}

/// Share of neighbouring pairs that count up by one (`ab`, `12`): random hex has about 6%.
fn sequence_step_share(body: &[u8]) -> f64 {
    if body.len() < 2 {
        return 0.0;
    }
    let steps = body.windows(2).filter(|p| p[1] == p[0].wrapping_add(1)).count();
    steps as f64 / (body.len() - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_and_obvious_placeholders() {
        for key in [
            "pk_abc123def456ghi789jkl0mno123pqrst4", // pkscan:allow
            "pk_abcd1234fghij5678klmn9012opqr3456s", // pkscan:allow
            "pk_1234567890abcdefghijklmnopqrstuvwx", // pkscan:allow
            &format!("pk_{}", "X".repeat(34)),
            &format!("pk_{}", "x".repeat(34)),
            &format!("pk_{}", "0".repeat(34)),
            &format!("pk_{}", "ab".repeat(17)),
            "pk_your0private0key0goes0here0xxxxxxx", // pkscan:allow
            "pk_3f9a0c1d2e4b5a6978c0d1eEXAMPLE3a4b", // pkscan:allow
        ] {
            assert!(is_placeholder(key), "{key}");
        }
    }

    #[test]
    fn random_hex_is_real() {
        for key in [
            "pk_3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7", // pkscan:allow
            "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52", // pkscan:allow
            "pk_a1B2c3_9c4e1f0b7d2a8e36f5c0b19d4e7a2f6c83", // pkscan:allow
        ] {
            assert!(!is_placeholder(key), "{key}");
        }
    }
}
