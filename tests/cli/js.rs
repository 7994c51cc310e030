//! Built JavaScript apps: server-only routes, public env variables and build caches in
//! `scan` and `git`; slots across string joins; `original` positions through source maps;
//! the committed Next.js and Vite builds under fixtures/js.

use crate::{key, Run, Tree};

const PRIVATE: &str = "klaviyo-private-key";
const PUBLIC: &str = "klaviyo-private-key-in-public-asset";
const COMPANY_ID: &str = "klaviyo-private-key-as-company-id";

/// A key in a plain constant (no slot), in a file at `path`.
fn constant(k: &str) -> String {
    format!("const k = \"{k}\";\n")
}

/// One file per framework convention, each with its own key in no slot, and the rule the
/// contract gives it.
fn conventions() -> Vec<(String, String, &'static str)> {
    let cases: &[(&str, &str)] = &[
        ("pages/api/klaviyoSubscribe.tsx", PRIVATE),
        ("src/pages/api/subscribe.js", PRIVATE),
        ("app/api/subscribe/route.ts", PRIVATE),
        ("server/api/subscribe.ts", PRIVATE),
        ("server/components/Widget.vue", PRIVATE),
        ("src/routes/api/+server.ts", PRIVATE),
        ("src/routes/+page.server.js", PRIVATE),
        ("src/routes/+layout.server.ts", PRIVATE),
        ("app/routes/klaviyo.server.tsx", PRIVATE),
        ("components/Newsletter.tsx", PUBLIC),
        ("src/routes/+page.svelte", PUBLIC),
    ];
    cases
        .iter()
        .enumerate()
        .map(|(i, (path, rule))| (path.to_string(), constant(&key(1900 + i as u64)), *rule))
        .collect()
}

fn envs() -> Vec<(String, String, &'static str)> {
    let prefixes = [
        "NEXT_PUBLIC_",
        "VITE_",
        "REACT_APP_",
        "NUXT_PUBLIC_",
        "GATSBY_",
        "EXPO_PUBLIC_",
        "PUBLIC_",
        "STORYBOOK_",
    ];
    let mut text = String::from("# public ones are inlined into client bundles\n");
    for (i, prefix) in prefixes.iter().enumerate() {
        text.push_str(&format!("{prefix}KLAVIYO_KEY={}\n", key(1950 + i as u64)));
    }
    text.push_str(&format!("KLAVIYO_PRIVATE_KEY={}\n", key(1960)));
    let local = format!("export VITE_KLAVIYO=\"{}\"\n", key(1961));
    vec![(".env".into(), text, ""), (".env.production.local".into(), local, PUBLIC)]
}

/// Build caches, with the key on a line long enough to be a bundle anywhere else.
fn caches() -> Vec<(String, String, &'static str)> {
    let long = |k: &str| format!("{}\"{k}\"{}\n", "a".repeat(3000), "b".repeat(3000));
    [
        ".next/cache/webpack/client-production/0.pack",
        "node_modules/.cache/babel-loader/3f.json",
        ".parcel-cache/data.mdb",
        ".turbo/cache/out.log",
        ".angular/cache/17.0.0/app.js",
        ".nx/cache/terminalOutputs/1",
    ]
    .iter()
    .enumerate()
    .map(|(i, path)| (path.to_string(), long(&key(1970 + i as u64)), PRIVATE))
    .chain([("dist/long.js".to_string(), long(&key(1980)), PUBLIC)])
    .collect()
}

/// (path, rule) of every finding a scan of all the cases above must give, sorted.
fn expected(files: &[(String, String, &'static str)]) -> Vec<(String, String)> {
    let mut want = Vec::new();
    for (path, text, rule) in files {
        if path == ".env" {
            for line in text.lines().skip(1) {
                let public = !line.starts_with("KLAVIYO_");
                want.push((path.clone(), if public { PUBLIC } else { PRIVATE }.to_string()));
            }
        } else {
            want.push((path.clone(), rule.to_string()));
        }
    }
    want.sort();
    want
}

fn all_cases() -> Vec<(String, String, &'static str)> {
    let mut files = conventions();
    files.extend(envs());
    files.extend(caches());
    files
}

fn rules_of(run: &Run) -> Vec<(String, String)> {
    let mut got: Vec<_> =
        run.json().findings.iter().map(|f| (f.path.clone(), f.rule_id.clone())).collect();
    got.sort();
    got
}

#[test]
fn server_routes_env_prefixes_and_caches_in_scan() {
    let files = all_cases();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t, _)| (p.as_str(), t.as_str())).collect();
    let tree = Tree::new(&refs);
    let run = tree.pkscan(&["scan", ".", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(rules_of(&run), expected(&files));
}

#[test]
fn server_routes_env_prefixes_and_caches_in_git_history() {
    let files = all_cases();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t, _)| (p.as_str(), t.as_str())).collect();
    let tree = Tree::new(&refs);
    tree.git(&["init", "-q", "-b", "main"]);
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "app"]);
    // Removed from HEAD: only history holds them now, and they keep their rules.
    for (path, _, _) in &files {
        std::fs::remove_file(tree.path().join(path)).unwrap();
    }
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "remove"]);
    let run = tree.pkscan(&["git", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(rules_of(&run), expected(&files));
}

#[test]
fn slots_survive_minified_string_joins() {
    let (a, b) = (key(1990), key(1991));
    let bundle = format!(
        "function a(){{return(0,u.jsx)(s(),{{src:\"https://static.klaviyo.com/onsite/js/klaviyo.js?company_id=\".concat(\"{a}\")}})}}\n\
         fetch(\"/client/profiles/?company_id=\" + \"{b}\");\n"
    );
    let tree = Tree::new(&[("dist/app.js", &bundle)]);
    let run = tree.pkscan(&["scan", ".", "--format", "json"]);
    run.expect_code(1);
    let got: Vec<_> =
        run.json().findings.iter().map(|f| (f.line, f.column, f.rule_id.clone())).collect();
    assert_eq!(got, vec![(1, 109, COMPANY_ID.to_string()), (2, 42, COMPANY_ID.to_string())]);
}
