//! The rule table: ids, severities, titles, messages and remediation help. `pkscan rules`,
//! SARIF's `tool.driver.rules` and the table tests all read from here. Which rule a hit
//! gets is decided in `detect::classify`; this module only describes the rules.

use std::borrow::Cow;

use crate::finding::Severity;

/// Which built-in rule a Klaviyo key hit falls under, most specific first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyRule {
    Placeholder,
    CompanyId,
    Token,
    Account,
    PublicAsset,
    Generic,
}

impl KeyRule {
    pub(crate) const ALL: [KeyRule; 6] = [
        KeyRule::CompanyId,
        KeyRule::Token,
        KeyRule::Account,
        KeyRule::PublicAsset,
        KeyRule::Generic,
        KeyRule::Placeholder,
    ];

    pub(crate) fn id(self) -> &'static str {
        match self {
            KeyRule::CompanyId => "klaviyo-private-key-as-company-id",
            KeyRule::Token => "klaviyo-private-key-as-token",
            KeyRule::Account => "klaviyo-private-key-as-account",
            KeyRule::PublicAsset => "klaviyo-private-key-in-public-asset",
            KeyRule::Generic => "klaviyo-private-key",
            KeyRule::Placeholder => "klaviyo-placeholder-key",
        }
    }

    pub(crate) fn severity(self) -> Severity {
        match self {
            KeyRule::CompanyId | KeyRule::Token | KeyRule::Account | KeyRule::PublicAsset => {
                Severity::Critical
            }
            KeyRule::Generic => Severity::High,
            KeyRule::Placeholder => Severity::Low,
        }
    }

    pub(crate) fn rule(self) -> Rule {
        let (title, message, fix) = match self {
            KeyRule::CompanyId => (
                "Klaviyo private key used as the public key (company_id)",
                "A private key is used as company_id; use the public key (site ID) here.",
                PUBLIC_SLOT_FIX,
            ),
            KeyRule::Token => (
                "Klaviyo private key used as a track/identify token",
                "A private key is the token of a track/identify payload; use the public key (site ID) here.",
                PUBLIC_SLOT_FIX,
            ),
            KeyRule::Account => (
                "Klaviyo private key used as the _learnq account",
                "A private key is the _learnq account; use the public key (site ID) here.",
                PUBLIC_SLOT_FIX,
            ),
            KeyRule::PublicAsset => (
                "Klaviyo private key in a file served to clients",
                "A private key is in a file served to browsers or apps; every visitor can read it.",
                SERVED_FIX,
            ),
            KeyRule::Generic => (
                "Klaviyo private key",
                "A Klaviyo private key is committed here; keep it in a secret store.",
                SERVER_FIX,
            ),
            KeyRule::Placeholder => (
                "Klaviyo placeholder key",
                "A placeholder shaped like a Klaviyo private key; no action unless it is real.",
                PLACEHOLDER_FIX,
            ),
        };
        Rule {
            id: Cow::Borrowed(self.id()),
            severity: self.severity(),
            title: Cow::Borrowed(title),
            message: Cow::Borrowed(message),
            fix: Cow::Borrowed(fix),
            help: Cow::Owned(help_text(fix)),
            builtin: true,
        }
    }
}

const PUBLIC_SLOT_FIX: &str =
    "Replace it with your account's public key (site ID, 6 characters), then rotate the private key.";
const SERVED_FIX: &str =
    "Remove it from anything served to clients and call Klaviyo from your server, then rotate the key.";
const SERVER_FIX: &str =
    "Move it to a secret store or environment variable outside the repository, then rotate the key.";
const PLACEHOLDER_FIX: &str =
    "Nothing to rotate if it is an example; if it is a real key, treat it as leaked.";

const ROTATION_STEPS: &str = "\
1. Where a public key belongs (klaviyo.js company_id, _learnq account, track/identify token, \
mobile SDK initialize), replace the private key with your account's public key (site ID).
2. In Klaviyo (Settings > API keys), create a new private key for each integration that used \
the exposed one, with a clear label and the narrowest scope it needs.
3. Update every integration with its new key.
4. Delete the exposed key. Klaviyo deletes without asking for confirmation, so check that you \
delete the right one.";

fn help_text(fix: &str) -> String {
    format!("{fix}\n\n{ROTATION_STEPS}")
}

/// A rule as users see it, built-in or from `[[rule]]` in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: Cow<'static, str>,
    pub severity: Severity,
    pub title: Cow<'static, str>,
    /// The one-line message each finding of the rule carries.
    pub message: Cow<'static, str>,
    /// The one-line fix shown beside each finding in text output.
    pub fix: Cow<'static, str>,
    /// Remediation steps, plain text (Markdown-compatible).
    pub help: Cow<'static, str>,
    pub builtin: bool,
}

/// The built-in rules, in the order `pkscan rules` lists them.
pub(crate) fn builtin_rules() -> Vec<Rule> {
    KeyRule::ALL.iter().map(|r| r.rule()).collect()
}

/// A positive or negative example of the table, checked by unit tests.
#[cfg(test)]
pub(crate) struct Example {
    pub path: &'static str,
    pub text: &'static str,
    /// `None`: nothing may be found.
    pub expect: Option<KeyRule>,
}

/// Examples written with `$KEY` where a synthetic key goes; tests substitute one.
#[cfg(test)]
pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        path: "index.html",
        text: r#"<script src="//static.klaviyo.com/onsite/js/klaviyo.js?company_id=$KEY"></script>"#,
        expect: Some(KeyRule::CompanyId),
    },
    Example {
        path: "index.html",
        text: r#"<script src="https://static.klaviyo.com/onsite/js/$KEY/klaviyo.js"></script>"#,
        expect: Some(KeyRule::CompanyId),
    },
    Example {
        path: "server/track.py",
        text: r#"requests.get("https://a.klaviyo.com/client/events/?company_id=$KEY", json=e)"#,
        expect: Some(KeyRule::CompanyId),
    },
    Example { path: "config.yml", text: "company_id: $KEY", expect: Some(KeyRule::CompanyId) },
    Example {
        path: "src/loader.js",
        text: r#"window.__klKey = "$KEY";"#,
        expect: Some(KeyRule::CompanyId),
    },
    Example {
        path: "src/loader.ts",
        text: "const cfg = { companyId: '$KEY' };",
        expect: Some(KeyRule::CompanyId),
    },
    Example {
        path: "ios/AppDelegate.swift",
        text: r#"KlaviyoSDK().initialize(with: "$KEY")"#,
        expect: Some(KeyRule::CompanyId),
    },
    Example {
        path: "android/app/src/main/java/App.kt",
        text: r#"Klaviyo.initialize("$KEY", applicationContext)"#,
        expect: Some(KeyRule::CompanyId),
    },
    Example {
        path: "src/App.tsx",
        text: "Klaviyo.initialize('$KEY');",
        expect: Some(KeyRule::CompanyId),
    },
    Example {
        path: "src/track.js",
        text: r#"const payload = {"token": "$KEY", "event": "Placed Order", "properties": {}};"#,
        expect: Some(KeyRule::Token),
    },
    Example {
        path: "server/track.php",
        text: "curl -d 'token=$KEY&event=Placed+Order' https://a.klaviyo.com/api/track",
        expect: Some(KeyRule::Token),
    },
    Example {
        path: "theme.js",
        text: "var _learnq = _learnq || []; _learnq.push(['account', '$KEY']);",
        expect: Some(KeyRule::Account),
    },
    Example {
        path: "dist/main.js",
        text: r#"fetch(u, {headers: {Authorization: "Klaviyo-API-Key $KEY"}})"#,
        expect: Some(KeyRule::PublicAsset),
    },
    Example {
        path: "app/main.min.js",
        text: r#"var k="$KEY";"#,
        expect: Some(KeyRule::PublicAsset),
    },
    Example { path: "page.liquid", text: "<!-- $KEY -->", expect: Some(KeyRule::PublicAsset) },
    Example {
        path: "view/frontend/templates/subscribe.phtml",
        text: r#"<div data-api-key="$KEY"></div>"#,
        expect: Some(KeyRule::PublicAsset),
    },
    Example {
        path: "resources/views/partials/klaviyo.blade.php",
        text: "apiKey: '$KEY',",
        expect: Some(KeyRule::PublicAsset),
    },
    Example {
        path: "app/Http/Controllers/KlaviyoController.php",
        text: "$apiKey = '$KEY';",
        expect: Some(KeyRule::Generic),
    },
    Example {
        path: "server/klaviyo.py",
        text: r#"client = KlaviyoAPI("$KEY", max_delay=60, max_retries=3)"#,
        expect: Some(KeyRule::Generic),
    },
    Example {
        path: "server/client.js",
        text: r#"const session = new ApiKeySession("$KEY");"#,
        expect: Some(KeyRule::Generic),
    },
    Example {
        path: "scripts/legacy.rb",
        text: "open('https://a.klaviyo.com/api/v2/lists?api_key=$KEY')",
        expect: Some(KeyRule::Generic),
    },
    Example { path: ".env", text: "KLAVIYO_PRIVATE_KEY=$KEY", expect: Some(KeyRule::Generic) },
    Example {
        path: ".env.local",
        text: "NEXT_PUBLIC_KLAVIYO_KEY=$KEY",
        expect: Some(KeyRule::PublicAsset),
    },
    Example {
        path: "pages/api/subscribe.tsx",
        text: r#"fetch(url, {headers: {Authorization: `Klaviyo-API-Key $KEY`}})"#,
        expect: Some(KeyRule::Generic),
    },
    Example {
        path: ".next/cache/webpack/client-production/0.pack",
        text: r#"var k="$KEY";"#,
        expect: Some(KeyRule::Generic),
    },
    Example {
        path: "config.py",
        text: "headers = {'Authorization': 'Klaviyo-API-Key $KEY'}",
        expect: Some(KeyRule::Generic),
    },
    // pkscan:allow (documented example keys follow)
    Example {
        path: "docs/setup.md",
        text: "KLAVIYO_PRIVATE_KEY=pk_abc123def456ghi789jkl0mno123pqrst4", // pkscan:allow
        expect: Some(KeyRule::Placeholder),
    },
    Example {
        path: "index.html",
        text: "klaviyo.js?company_id=pk_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", // pkscan:allow
        expect: Some(KeyRule::Placeholder),
    },
    Example {
        path: "billing.js",
        text: "Stripe('pk_live_51HqLyjWDarjtT1zdp7dcXGOWzsDB6qWIrCnGfwsUgf9bmUOp3kt');",
        expect: None,
    },
    Example {
        path: "map.js",
        text: "mapboxgl.accessToken = 'pk.eyJ1IjoiZXhhbXBsZSIsImEiOiJjazEyMyJ9.abc';",
        expect: None,
    },
    Example {
        path: "schema.sql",
        text: "ALTER TABLE orders ADD CONSTRAINT pk_orders_customer_id PRIMARY KEY (id);",
        expect: None,
    },
    Example { path: "views.py", text: "Order.objects.filter(company_id=pk_company)", expect: None },
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_help_is_present() {
        let rules = builtin_rules();
        let ids: HashSet<_> = rules.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids.len(), rules.len());
        for rule in &rules {
            assert!(rule.help.contains("Delete the exposed key"), "{}", rule.id);
            assert!(!rule.title.is_empty() && !rule.message.is_empty(), "{}", rule.id);
        }
    }

    #[test]
    fn severities_follow_the_contract() {
        assert_eq!(KeyRule::CompanyId.severity(), Severity::Critical);
        assert_eq!(KeyRule::PublicAsset.severity(), Severity::Critical);
        assert_eq!(KeyRule::Generic.severity(), Severity::High);
        assert_eq!(KeyRule::Placeholder.severity(), Severity::Low);
    }
}
