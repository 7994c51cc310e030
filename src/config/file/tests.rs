//! Config parsing: every section, every error message with the line it names, and the
//! template `pkscan init` writes.

use super::*;
use crate::config::{Limits, Options};

const KEY: &str = "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"; // pkscan:allow

fn err(text: &str) -> String {
    parse(text, ".pkscan.toml").unwrap_err().to_string()
}

fn ok(text: &str) -> ConfigFile {
    parse(text, ".pkscan.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_scan_setting_is_read() {
    let config = ok(r#"
[scan]
exclude = ["vendor/**", "*.min.css"]
gitignore = true
follow = true
max_file_size = "2GiB"
threads = 3
fail_on = "high"
max_member_bytes = "64MiB"
max_file_bytes = 1048576
max_ratio = 50
ratio_floor = "2MiB"
max_depth = 2
max_members = 10
"#);
    assert_eq!(
        config.scan,
        ScanSection {
            exclude: vec!["vendor/**".into(), "*.min.css".into()],
            gitignore: Some(true),
            follow: Some(true),
            max_file_size: Some(2 << 30),
            threads: Some(3),
            fail_on: Some(Severity::High),
            max_member_bytes: Some(64 << 20),
            max_file_bytes: Some(1 << 20),
            max_ratio: Some(50),
            ratio_floor: Some(2 << 20),
            max_depth: Some(2),
            max_members: Some(10),
        }
    );
}

#[test]
fn an_empty_file_changes_nothing() {
    let config = ok("# nothing\n");
    assert_eq!(config.scan, ScanSection::default());
    assert!(config.allow.is_empty() && config.rules.is_empty());
}

#[test]
fn allow_and_rules_are_read() {
    let sha = Secret::new(KEY).sha256_hex();
    let config = ok(&format!(
        r#"
[allow]
paths = ["docs/examples/**"]
secret_sha256 = ["{}"]
regexes = ['example_private_key']
rules = ["klaviyo-placeholder-key", "acme-live-token"]

[[rule]]
id = "acme-live-token"
regex = 'acme_live_(?P<secret>[a-z0-9]{{32}})'
keywords = ["acme_live_"]
severity = "critical"
title = "Acme live token"
help = "Rotate it in the Acme console."

[[rule]]
id = "bare"
regex = 'bare_[0-9]{{8}}'
"#,
        sha.to_uppercase()
    ));
    assert!(config.allow.paths.is_some());
    assert_eq!(config.allow.secret_sha256, HashSet::from([sha]), "stored lowercase");
    assert_eq!(config.allow.regexes.len(), 1);
    assert_eq!(config.allow.rules.len(), 2);
    let [acme, bare] = &config.rules[..] else { panic!("two rules") };
    assert_eq!(
        (acme.id.as_str(), acme.severity, acme.title.as_str(), acme.help.as_str()),
        (
            "acme-live-token",
            Severity::Critical,
            "Acme live token",
            "Rotate it in the Acme console."
        )
    );
    assert_eq!(acme.keywords(), ["acme_live_"]);
    assert_eq!(acme.regex(), "acme_live_(?P<secret>[a-z0-9]{32})");
    assert_eq!(
        (bare.severity, bare.title.as_str(), bare.help.as_str(), bare.keywords().len()),
        (Severity::High, "bare", DEFAULT_HELP, 0),
        "defaults of a rule"
    );
}

#[test]
fn unknown_keys_name_the_line_the_section_and_the_choices() {
    assert_eq!(
        err("[scan]\nthreads = 2\nexclud = []\n"),
        ".pkscan.toml:3: unknown key \"exclud\" in [scan]; expected one of exclude, gitignore, \
         follow, max_file_size, threads, fail_on, max_member_bytes, max_file_bytes, max_ratio, \
         ratio_floor, max_depth, max_members"
    );
    assert_eq!(
        err("\n[allow]\npath = []\n"),
        ".pkscan.toml:3: unknown key \"path\" in [allow]; expected one of paths, secret_sha256, \
         regexes, rules"
    );
    assert_eq!(
        err("[[rule]]\nid = \"a\"\nregex = 'x'\nkeyword = []\n"),
        ".pkscan.toml:4: unknown key \"keyword\" in [[rule]]; expected one of id, regex, \
         keywords, severity, title, help"
    );
    assert_eq!(
        err("fail_on = \"high\"\n"),
        ".pkscan.toml:1: unknown key \"fail_on\" at the top level (sections are [scan], [allow] \
         and [[rule]]); expected one of scan, allow, rule"
    );
    assert_eq!(
        err("[scna]\n"),
        ".pkscan.toml:1: unknown key \"scna\" at the top level (sections are [scan], [allow] \
         and [[rule]]); expected one of scan, allow, rule"
    );
}

#[test]
fn bad_scan_values_say_what_is_expected() {
    let cases = [
        ("gitignore = \"yes\"", "bad value for gitignore in [scan]: expected true or false, found a string"),
        ("follow = 1", "bad value for follow in [scan]: expected true or false, found an integer"),
        ("threads = \"four\"", "bad value for threads in [scan]: expected a number of threads (0 = one per core), found a string"),
        ("threads = -1", "bad value for threads in [scan]: expected a number of threads (0 = one per core), found a negative integer"),
        ("fail_on = \"severe\"", "bad value for fail_on in [scan]: expected one of critical, high, medium, low, found \"severe\""),
        ("fail_on = 3", "bad value for fail_on in [scan]: expected one of critical, high, medium, low, found an integer"),
        ("max_file_size = \"2 parsecs\"", "bad value for max_file_size in [scan]: unknown size unit \"parsecs\"; expected B, KiB, MiB, GiB or TiB (a size such as \"500MiB\" or \"2GiB\", or a number of bytes)"),
        ("max_file_size = 1.5", "bad value for max_file_size in [scan]: expected a size such as \"500MiB\" or \"2GiB\", or a number of bytes, found a float"),
        ("exclude = \"vendor/**\"", "bad value for exclude in [scan]: expected an array of strings such as [\"a\", \"b\"], found a string"),
        ("exclude = [1]", "bad value for an item of exclude in [scan]: expected a string, found an integer"),
        ("exclude = [\"a/{b\"]", "bad glob in exclude in [scan]: error parsing glob 'a/{b': unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)"),
        ("max_ratio = 0", "bad value for max_ratio in [scan]: expected a ratio of 1 or more, such as 100, found 0"),
        ("max_depth = 4294967296", "bad value for max_depth in [scan]: expected a nesting depth such as 4, found an integer"),
        ("max_members = \"many\"", "bad value for max_members in [scan]: expected a number of members such as 100000, found a string"),
        ("max_member_bytes = true", "bad value for max_member_bytes in [scan]: expected a size such as \"500MiB\" or \"2GiB\", or a number of bytes, found a boolean"),
        ("ratio_floor = []", "bad value for ratio_floor in [scan]: expected a size such as \"500MiB\" or \"2GiB\", or a number of bytes, found an array"),
        ("max_file_bytes = {}", "bad value for max_file_bytes in [scan]: expected a size such as \"500MiB\" or \"2GiB\", or a number of bytes, found a table"),
    ];
    for (line, message) in cases {
        assert_eq!(err(&format!("# c\n[scan]\n{line}\n")), format!(".pkscan.toml:3: {message}"));
    }
}

#[test]
fn bad_allow_values_say_what_is_expected() {
    assert_eq!(
        err("[allow]\npaths = [\n  \"ok/**\",\n  \"a/{b\",\n]\n"),
        ".pkscan.toml:4: bad glob in paths in [allow]: error parsing glob 'a/{b': unclosed \
         alternate group; missing '}' (maybe escape '{' with '[{]'?)"
    );
    assert_eq!(
        err("[allow]\nsecret_sha256 = [\"abc\"]\n"),
        ".pkscan.toml:2: bad value in secret_sha256 in [allow]: expected 64 hex digits (the \
         SHA-256 of the secret, as in a JSON report's secret_sha256), found 3 characters"
    );
    assert_eq!(
        err(&format!("[allow]\nsecret_sha256 = [\n  \"{KEY}\",\n]\n")),
        ".pkscan.toml:3: secret_sha256 in [allow] holds what looks like a raw key (pk_8e1f…52); \
         never put a key in the config: put its SHA-256 (the secret_sha256 of a JSON report, or \
         the output of `printf %s KEY | sha256sum`), and rotate the key if this file was ever \
         committed"
    );
    assert_eq!(
        err("[allow]\nregexes = ['ok', '(unclosed']\n"),
        ".pkscan.toml:2: bad regex in regexes in [allow]: unclosed group"
    );
    assert_eq!(
        err("[allow]\nrules = [\"klaviyo-key\"]\n"),
        ".pkscan.toml:2: unknown rule id \"klaviyo-key\" in rules in [allow]; expected one of \
         klaviyo-private-key-as-company-id, klaviyo-private-key-as-token, \
         klaviyo-private-key-as-account, klaviyo-private-key-in-public-asset, \
         klaviyo-private-key, klaviyo-placeholder-key"
    );
    assert_eq!(
        err("[allow]\nrules = \"klaviyo-placeholder-key\"\n"),
        ".pkscan.toml:2: bad value for rules in [allow]: expected an array of strings such as \
         [\"a\", \"b\"], found a string"
    );
}

#[test]
fn bad_rules_say_what_is_expected() {
    let rule = |body: &str| err(&format!("[[rule]]\n{body}\n"));
    assert_eq!(
        rule("regex = 'x'"),
        ".pkscan.toml:1: [[rule]] #1 has no id; give it one such as id = \"acme-live-token\""
    );
    assert_eq!(
        rule("id = \"acme\""),
        ".pkscan.toml:1: [[rule]] \"acme\" has no regex; add one such as regex = \
         'acme_live_[a-z0-9]{32}'"
    );
    assert_eq!(
        rule("id = \"has space\"\nregex = 'x'"),
        ".pkscan.toml:2: bad value for id in [[rule]] #1: expected letters, digits, '-', '_' or \
         '.' (at most 100, starting with a letter or digit), found \"has space\""
    );
    assert_eq!(
        rule("id = 7\nregex = 'x'"),
        ".pkscan.toml:2: bad value for id in [[rule]] #1: expected a string, found an integer"
    );
    assert_eq!(
        rule("id = \"klaviyo-private-key\"\nregex = 'x'"),
        ".pkscan.toml:2: id \"klaviyo-private-key\" in [[rule]] #1 is a built-in rule's; choose \
         another id"
    );
    assert_eq!(
        err("[[rule]]\nid = \"a\"\nregex = 'x'\n\n[[rule]]\nid = \"a\"\nregex = 'y'\n"),
        ".pkscan.toml:6: id \"a\" in [[rule]] #2 is used by an earlier [[rule]]; ids are unique"
    );
    assert_eq!(
        rule("id = \"a\"\nregex = 'acme_['"),
        ".pkscan.toml:3: bad value for regex in [[rule]] \"a\": invalid regex: unclosed character \
         class"
    );
    assert_eq!(
        rule("id = \"a\"\nregex = 'x*'"),
        ".pkscan.toml:3: bad value for regex in [[rule]] \"a\": the regex matches the empty \
         string, so it would match everywhere"
    );
    assert_eq!(
        rule("id = \"a\"\nregex = 'x'\nkeywords = [\"x\", \"\"]"),
        ".pkscan.toml:4: bad value for keywords in [[rule]] \"a\": a keyword is empty; remove it \
         or give the literal text the secret starts with"
    );
    assert_eq!(
        rule("id = \"a\"\nregex = 'x'\nseverity = \"urgent\""),
        ".pkscan.toml:4: bad value for severity in [[rule]] \"a\": expected one of critical, \
         high, medium, low, found \"urgent\""
    );
    assert_eq!(
        rule("id = \"a\"\nregex = 'x'\ntitle = [\"t\"]"),
        ".pkscan.toml:4: bad value for title in [[rule]] \"a\": expected a string, found an array"
    );
    assert_eq!(
        rule("id = \"a\"\nregex = 'x'\nkeywords = \"x\""),
        ".pkscan.toml:4: bad value for keywords in [[rule]] \"a\": expected an array of strings \
         such as [\"a\", \"b\"], found a string"
    );
}

#[test]
fn bad_shapes_and_syntax_name_the_line() {
    assert_eq!(
        err("[rule]\nid = \"a\"\n"),
        ".pkscan.toml:1: rule must be an array of tables: start each custom rule with a \
         `[[rule]]` line"
    );
    assert_eq!(
        err("scan = 3\n"),
        ".pkscan.toml:1: [scan] must be a table: write `[scan]` on a line, then its settings"
    );
    assert_eq!(
        err("\nallow = \"all\"\n"),
        ".pkscan.toml:2: [allow] must be a table: write `[allow]` on a line, then its lists"
    );
    assert_eq!(
        err("[scan\n"),
        ".pkscan.toml:1: invalid TOML: invalid table header; expected `.`, `]`"
    );
    assert_eq!(
        err("[scan]\nthreads = 1\nthreads = 2\n"),
        ".pkscan.toml:3: invalid TOML: duplicate key `threads` in table `scan`"
    );
}

#[test]
fn no_message_shows_a_raw_key() {
    for text in [
        format!("[allow]\nsecret_sha256 = [\"{KEY}\"]\n"),
        format!("[allow]\nsecret_sha256 = [\"x{KEY}\"]\n"),
        format!("[allow]\nregexes = ['({KEY}']\n"),
        format!("[allow]\nrules = [\"{KEY}\"]\n"),
        format!("[scan]\nfail_on = \"{KEY}\"\n"),
        format!("[scan]\n{KEY} = 1\n"),
        format!("[[rule]]\nid = \"{KEY}\"\nregex = 'x'\n[[rule]]\nid = \"{KEY}\"\nregex = 'x'\n"),
        format!("[scan]\nthreads = \"{KEY}\"\n"),
        format!("x = \"{KEY}\n"),
    ] {
        let message = err(&text);
        assert!(!message.contains(KEY), "{message}");
    }
}

#[test]
fn the_init_template_parses_to_the_defaults() {
    let config = ok(TEMPLATE);
    let mut opts = Options::default();
    opts.apply_config(config);
    let defaults = Options::default();
    assert_eq!(opts.limits, Limits::default());
    assert_eq!(
        (opts.exclude, opts.gitignore, opts.follow, opts.max_file_size, opts.threads, opts.fail_on),
        (
            defaults.exclude,
            defaults.gitignore,
            defaults.follow,
            defaults.max_file_size,
            defaults.threads,
            defaults.fail_on
        )
    );
    assert!(opts.allow.is_empty() && opts.custom_rules.is_empty());
    // Every [scan] key is documented in the template, commented out or not.
    for key in SCAN_KEYS.iter().chain(ALLOW_KEYS).chain(RULE_KEYS) {
        assert!(TEMPLATE.contains(&format!("{key} = ")), "{key} is not in the template");
    }
}

#[test]
fn the_template_example_rule_is_valid_once_uncommented() {
    let uncommented: String = TEMPLATE
        .lines()
        .skip_while(|l| !l.starts_with("# [[rule]]"))
        .filter(|l| !l.starts_with("#  "))
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let config = ok(&uncommented);
    assert_eq!(config.rules.len(), 1, "{uncommented}");
    assert_eq!(config.rules[0].id, "acme-live-token");
}

#[test]
fn the_contract_example_parses() {
    let sha = "0".repeat(64);
    let example = format!(
        r#"
[scan]
exclude = ["vendor/**", "*.min.css"]   # not read at all
gitignore = false                      # honour .gitignore files
follow = false                         # follow symlinks
max_file_size = "2GiB"                 # default: none; files are streamed in bounded memory
threads = 0                            # 0 = one per core
fail_on = "medium"

[allow]                                # scanned, then suppressed and counted
paths = ["docs/examples/**"]
secret_sha256 = ["{sha}"]    # never the raw key
regexes = ['example_private_key']      # matched against the finding's line
rules = ["klaviyo-placeholder-key"]

[[rule]]
id = "acme-live-token"
regex = 'acme_live_[a-z0-9]{{32}}'       # the secret is the named group `secret`, else the whole match
keywords = ["acme_live_"]              # optional literal prefilter
severity = "high"
title = "Acme live token"
help = "Rotate it in the Acme console."
"#
    );
    let config = ok(&example);
    assert_eq!(config.rules.len(), 1);
    assert_eq!(config.scan.max_file_size, Some(2 << 30));
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let path = init(dir.path(), false).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), TEMPLATE);
    std::fs::write(&path, "# mine\n").unwrap();
    let message = format!("{:#}", init(dir.path(), false).unwrap_err());
    assert_eq!(message, ".pkscan.toml already exists; use `pkscan init --force` to replace it");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    init(dir.path(), true).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), TEMPLATE);
}

#[test]
fn locate_prefers_the_repository_root_then_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("src/deep")).unwrap();
    // Without one at the root, the current directory's (if any) is used.
    let in_cwd = Path::new(FILE_NAME).is_file().then(|| PathBuf::from(FILE_NAME));
    assert_eq!(locate(None, Some(&repo.join("src/deep"))), in_cwd);
    std::fs::write(repo.join(FILE_NAME), "").unwrap();
    let found = locate(None, Some(&repo.join("src/deep"))).unwrap();
    assert_eq!(found.canonicalize().unwrap(), repo.join(FILE_NAME).canonicalize().unwrap());
    let explicit = dir.path().join("other.toml");
    assert_eq!(locate(Some(&explicit), Some(&repo)), Some(explicit.clone()));
    // A bare repository inside the work tree is a repository of its own; the work tree's
    // own `.git` folder is not.
    for git_dir in [repo.join("mirror.git"), repo.join(".git")] {
        std::fs::create_dir_all(git_dir.join("objects")).unwrap();
        std::fs::create_dir_all(git_dir.join("refs")).unwrap();
        std::fs::write(git_dir.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    }
    assert_eq!(locate(None, Some(&repo.join("mirror.git"))), in_cwd);
    let found = locate(None, Some(&repo.join(".git"))).unwrap();
    assert_eq!(found.canonicalize().unwrap(), repo.join(FILE_NAME).canonicalize().unwrap());
}
