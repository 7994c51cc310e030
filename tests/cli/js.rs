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

/// A bundle line `var k="KEY";` and its map: one segment at the key's first character
/// (generated column 7) pointing at `const k = "KEY";` line 1, column 11 (0-based).
fn map_json(k: &str) -> String {
    format!(
        r#"{{"version":3,"file":"app.js","sources":["webpack://app/./src/[id].ts"],"sourcesContent":["// é\nconst k = \"{k}\";\n"],"names":[],"mappings":";AACA,OAAW"}}"#
    )
}

fn bundle(k: &str, map_url: &str) -> String {
    format!("/* built */\nvar k=\"{k}\";\n//# sourceMappingURL={map_url}\n")
}

fn originals(run: &Run) -> Vec<(String, u64, u64, Option<serde_json::Value>)> {
    run.json()
        .findings
        .iter()
        .map(|f| (f.path.clone(), f.line, f.column, f.original.clone()))
        .collect()
}

fn original(line: u64, column: u64) -> Option<serde_json::Value> {
    Some(
        serde_json::json!({ "source": "webpack://app/./src/[id].ts", "line": line, "column": column }),
    )
}

#[test]
fn a_key_in_a_bundle_or_its_map_gains_its_original_position() {
    let k = key(2001);
    let tree = Tree::new(&[
        ("dist/app.js", &bundle(&k, "app.js.map")),
        ("dist/app.js.map", &map_json(&k)),
        ("dist/nomap.js", &format!("var k=\"{k}\";\n")),
    ]);
    let run = tree.pkscan(&["scan", "dist", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        originals(&run),
        vec![
            ("dist/app.js".into(), 2, 8, original(2, 12)),
            ("dist/app.js.map".into(), 1, 109, original(2, 12)),
            ("dist/nomap.js".into(), 1, 8, None),
        ]
    );
    assert!(run.json().errors.is_empty());
    let text = tree.pkscan(&["scan", "dist", "--color", "never"]);
    let shown = "written at webpack://app/./src/[id].ts:2:12 (source map)";
    assert_eq!(text.stdout().matches(shown).count(), 2, "{}", text.stdout());
    let sarif = tree.pkscan(&["scan", "dist", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&sarif.output.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let related: Vec<_> = results.iter().map(|r| r["relatedLocations"].clone()).collect();
    let want = serde_json::json!([{
        "id": 1,
        "message": { "text": "written at webpack://app/./src/[id].ts:2:12 (source map)" },
        "physicalLocation": {
            "artifactLocation": { "uri": "src/%5Bid%5D.ts", "uriBaseId": "%SRCROOT%" },
            "region": { "startLine": 2, "startColumn": 12 },
        },
    }]);
    assert_eq!(related, vec![want.clone(), want, serde_json::Value::Null]);
}

#[test]
fn an_inline_data_url_map_is_read() {
    let k = key(2002);
    let encoded = base64(map_json(&k).as_bytes());
    let url = format!("data:application/json;charset=utf-8;base64,{encoded}");
    let tree = Tree::new(&[("dist/app.js", &bundle(&k, &url))]);
    let run = tree.pkscan(&["scan", ".", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(originals(&run)[0], ("dist/app.js".into(), 2, 8, original(2, 12)));
}

#[test]
fn a_broken_or_missing_map_is_an_error_and_the_finding_stays() {
    let k = key(2003);
    let tree = Tree::new(&[
        ("dist/a.js", &bundle(&k, "a.js.map")),
        ("dist/a.js.map", "{\"version\":3,\"mappings\":"),
        ("dist/b.js", &bundle(&k, "b.js.map")),
    ]);
    let run = tree.pkscan(&["scan", "dist", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    let places: Vec<_> =
        report.findings.iter().map(|f| (f.path.as_str(), f.original.is_some())).collect();
    assert_eq!(places, vec![("dist/a.js", false), ("dist/b.js", false)]);
    let errors: Vec<_> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(errors, vec!["dist/a.js.map", "dist/b.js.map"], "{:?}", report.errors);
    assert!(
        report.errors[0].message.starts_with("not a readable source map"),
        "{:?}",
        report.errors
    );
}

#[test]
fn a_map_over_the_member_limit_is_not_read() {
    let k = key(2005);
    let map = map_json(&key(2006));
    let tree = Tree::new(&[("dist/app.js", &bundle(&k, "app.js.map")), ("dist/app.js.map", &map)]);
    let run = tree.pkscan(&["scan", "dist/app.js", "--max-member-size", "100", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(originals(&run), vec![("dist/app.js".into(), 2, 8, None)]);
    let errors: Vec<_> =
        report.errors.iter().map(|e| (e.path.as_str(), e.message.as_str())).collect();
    assert_eq!(
        errors,
        vec![("dist/app.js.map", "source map not read: larger than the member limit (100 bytes)")]
    );
}

/// Standard base64, for the inline map test.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_fixture_builds_hold_the_test_helpers_keys() {
    // fixtures/js/build.sh plants these; fixtures/expected.json lists where they land.
    let root = crate::project_root().join("fixtures/js");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    assert!(read("next-shop/components/KlaviyoScript.tsx").contains(&key(1910)));
    assert!(read("next-shop/.env").contains(&key(1920)));
    assert!(read("next-shop/components/Newsletter.tsx").contains(&key(1940)));
    assert!(read("next-shop/pages/api/klaviyoSubscribe.ts").contains(&key(1950)));
    assert!(read("vite-shop/.env").contains(&key(1960)));
    assert!(read("vite-shop/src/profile.js").contains(&key(1970)));
}

#[test]
fn a_key_in_a_committed_map_is_placed_in_its_sources_content() {
    let k = key(2004);
    let tree = Tree::new(&[
        ("dist/app.js.map", &map_json(&k)),
        ("dist/bad.js.map", &format!("{{\"x\":\"{k}\"")),
    ]);
    tree.git(&["init", "-q", "-b", "main"]);
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "build"]);
    let run = tree.pkscan(&["git", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        originals(&run),
        vec![
            ("dist/app.js.map".into(), 1, 109, original(2, 12)),
            ("dist/bad.js.map".into(), 1, 7, None)
        ]
    );
    let errors: Vec<_> = run.json().errors.iter().map(|e| e.path.clone()).collect();
    assert_eq!(errors, vec!["dist/bad.js.map"]);
}

#[test]
fn a_committed_bundle_is_placed_through_the_map_beside_it_in_the_same_tree() {
    let k = key(2007);
    let tree = Tree::new(&[
        ("dist/app.js", &bundle(&k, "app.js.map")),
        ("dist/app.js.map", &map_json(&k)),
        ("dist/alone.js", &bundle(&k, "alone.js.map")),
    ]);
    tree.git(&["init", "-q", "-b", "main"]);
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "build"]);
    // A map on disk but never committed is not the bundle's map in history.
    tree.write("dist/alone.js.map", map_json(&k).as_bytes());
    let run = tree.pkscan(&["git", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        originals(&run),
        vec![
            ("dist/alone.js".into(), 2, 8, None),
            ("dist/app.js".into(), 2, 8, original(2, 12)),
            ("dist/app.js.map".into(), 1, 109, original(2, 12)),
        ]
    );
    assert!(run.json().errors.is_empty(), "{:?}", run.json().errors);
}

#[test]
fn a_staged_bundle_is_placed_through_the_staged_map() {
    let k = key(2008);
    let tree = Tree::new(&[("README.md", "shop\n")]);
    tree.git(&["init", "-q", "-b", "main"]);
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "init"]);
    tree.write("dist/app.js", bundle(&k, "../maps/app.js.map").as_bytes());
    tree.write("maps/app.js.map", map_json(&k).as_bytes());
    tree.git(&["add", "-A"]);
    // The work tree's copy is not what will be committed.
    tree.write("maps/app.js.map", b"not a map");
    let run = tree.pkscan(&["git", "--staged", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        originals(&run),
        vec![
            ("dist/app.js".into(), 2, 8, original(2, 12)),
            ("maps/app.js.map".into(), 1, 109, original(2, 12)),
        ]
    );
}
