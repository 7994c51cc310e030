//! The CI and pre-commit recipes users copy: each parses, calls the right commands, and
//! (where it can run here) behaves as its comments say. The README's GitHub Actions
//! workflow must stay byte for byte the file in `docs/ci/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_yaml::Value;

use crate::{key, project_root, Run, Tree};

fn read(path: &str) -> String {
    std::fs::read_to_string(project_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// The folder of the built binary, to put first on `PATH` so recipes find `pkscan`.
fn bin_dir() -> PathBuf {
    let bin = assert_cmd::cargo::cargo_bin("pkscan");
    bin.parent().expect("the binary is in a folder").to_path_buf()
}

/// `program args...` in `cwd`, with only the binary's folder and the usual ones on PATH.
fn run_with_pkscan(cwd: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir().display());
    let output: Output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    Run::new(output)
}

fn leaky_tree() -> Tree {
    Tree::new(&[
        (
            "site/index.html",
            &format!("<script src=\"klaviyo.js?company_id={}\"></script>\n", key(200)),
        ),
        ("server/.env", &format!("KLAVIYO_PRIVATE_KEY={}\n", key(201))),
    ])
}

fn steps(workflow: &Value) -> &Vec<Value> {
    workflow["jobs"]["pkscan"]["steps"].as_sequence().expect("jobs.pkscan.steps")
}

fn step_running<'a>(workflow: &'a Value, prefix: &str) -> &'a Value {
    steps(workflow)
        .iter()
        .find(|s| s["run"].as_str().is_some_and(|r| r.starts_with(prefix)))
        .unwrap_or_else(|| panic!("no step runs {prefix:?}"))
}

/// The arguments after `pkscan` of a one-line `run:` without quoting.
fn pkscan_args(run: &str) -> Vec<&str> {
    let words: Vec<&str> = run.split_whitespace().collect();
    assert_eq!(words[0], "pkscan", "{run}");
    words[1..].to_vec()
}

#[test]
fn the_readme_github_workflow_is_the_file_in_docs() {
    let readme = read("README.md");
    let section = &readme[readme.find("## For CI").expect("a For CI section")..];
    let start = section.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let block = &section[start..start + section[start..].find("```").expect("closed")];
    assert_eq!(block, read("docs/ci/github-actions.yml"));
}

#[test]
fn the_github_workflow_installs_scans_annotates_and_uploads_sarif() {
    let workflow = yaml("docs/ci/github-actions.yml");
    let on: Vec<&str> =
        workflow["on"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(on, ["push", "pull_request"]);
    assert_eq!(workflow["permissions"]["security-events"], "write");
    assert_eq!(workflow["permissions"]["contents"], "read");
    let steps = steps(&workflow);
    assert_eq!(steps[0]["uses"], "actions/checkout@v4");
    assert_eq!(
        steps[1]["run"],
        "cargo install --locked --git https://github.com/pkscan/pkscan pkscan"
    );
    let annotate = step_running(&workflow, "pkscan scan . --format github");
    assert_eq!(annotate["run"], "pkscan scan . --format github");
    assert!(annotate.get("if").is_none(), "the annotation step is the one that fails the job");
    let sarif = step_running(&workflow, "pkscan scan . --format sarif");
    assert_eq!(sarif["run"], "pkscan scan . --format sarif --output pkscan.sarif");
    assert!(sarif["if"].as_str().unwrap().contains("!cancelled()"), "runs after a failed scan");
    let upload = steps
        .iter()
        .find(|s| s["uses"] == "github/codeql-action/upload-sarif@v3")
        .expect("an upload-sarif step");
    assert_eq!(upload["with"]["sarif_file"], "pkscan.sarif");
    assert!(upload["if"].as_str().unwrap().contains("!cancelled()"));
    assert_eq!(steps.len(), 5);
}

#[test]
fn the_github_workflow_commands_run_and_their_sarif_validates() {
    let workflow = yaml("docs/ci/github-actions.yml");
    let tree = leaky_tree();
    tree.write(
        ".pkscan.toml",
        b"[[rule]]\nid = \"acme-live-token\"\nregex = 'acme_live_[a-z0-9]{32}'\n",
    );
    tree.write("server/acme.py", format!("T = 'acme_live_{}'\n", &key(202)[3..35]).as_bytes());

    let annotate = tree.pkscan(&pkscan_args(
        step_running(&workflow, "pkscan scan . --format github")["run"].as_str().unwrap(),
    ));
    annotate.expect_code(1);
    let lines: Vec<String> = annotate.stdout().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 4, "{}", annotate.stdout());
    assert!(lines[0].starts_with("::error file=site/index.html,line=1,"), "{}", lines[0]);

    let sarif_step = step_running(&workflow, "pkscan scan . --format sarif");
    tree.pkscan(&pkscan_args(sarif_step["run"].as_str().unwrap())).expect_code(1);
    let sarif = std::fs::read(tree.path().join("pkscan.sarif")).expect("the SARIF file");
    let typed: serde_sarif::sarif::Sarif = serde_json::from_slice(&sarif).expect("typed SARIF");
    assert_eq!(typed.runs[0].results.as_ref().map(Vec::len), Some(3));
    crate::config::validate_sarif_if_available(&sarif);
}

#[test]
fn the_gitlab_job_keeps_a_report_and_fails_on_a_leak() {
    let ci = yaml("docs/ci/gitlab-ci.yml");
    let job = &ci["pkscan"];
    assert_eq!(job["stage"], "test");
    let script: Vec<&str> =
        job["script"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(
        script,
        [
            "cargo install --locked --git https://github.com/pkscan/pkscan pkscan",
            "pkscan scan . --format json --output pkscan.json || [ $? -eq 1 ]",
            "pkscan scan . --color always",
        ]
    );
    assert_eq!(job["artifacts"]["when"], "always");
    assert_eq!(job["artifacts"]["paths"][0], "pkscan.json");

    // Each script line after the install, as the runner's shell runs it.
    let leaky = leaky_tree();
    run_with_pkscan(leaky.path(), "sh", &["-c", script[1]], &[]).expect_code(0);
    assert!(leaky.path().join("pkscan.json").is_file());
    run_with_pkscan(leaky.path(), "sh", &["-c", script[2]], &[]).expect_code(1);
    let clean = Tree::new(&[("a.txt", "nothing")]);
    run_with_pkscan(clean.path(), "sh", &["-c", script[2]], &[]).expect_code(0);
    let broken = Tree::new(&[(".pkscan.toml", "[scan]\nthreads = \"x\"\n")]);
    // `|| [ $? -eq 1 ]` lets only a leak through: exit 2 makes the test fail, so the line
    // (and the job) fails with pkscan's message.
    let run = run_with_pkscan(broken.path(), "sh", &["-c", script[1]], &[]);
    run.expect_code(1);
    assert!(run.stderr().starts_with("pkscan: .pkscan.toml:2: bad value for threads"));
}

#[test]
fn the_generic_script_is_valid_bash_and_exits_0_1_or_2() {
    let script = project_root().join("docs/ci/generic.sh");
    let check = Command::new("bash").arg("-n").arg(&script).output().expect("bash runs");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let script = script.to_str().expect("a UTF-8 path");

    let leaky = leaky_tree();
    let run = run_with_pkscan(leaky.path(), "bash", &[script], &[]);
    run.expect_code(1);
    assert!(run.stdout().contains("klaviyo-private-key-as-company-id"), "{}", run.stdout());
    assert!(run.stderr().contains("pkscan: leaked keys found (report: pkscan.json)"));
    let report: crate::JsonReport =
        serde_json::from_slice(&std::fs::read(leaky.path().join("pkscan.json")).unwrap()).unwrap();
    assert_eq!(report.findings.len(), 2);

    // With the report as a baseline, the same tree passes.
    std::fs::rename(leaky.path().join("pkscan.json"), leaky.path().join("baseline.json")).unwrap();
    let run =
        run_with_pkscan(leaky.path(), "bash", &[script], &[("PKSCAN_BASELINE", "baseline.json")]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "pkscan: no leaked keys (report: pkscan.json)\n");

    let broken = Tree::new(&[(".pkscan.toml", "[scan\n")]);
    let run = run_with_pkscan(broken.path(), "bash", &[script], &[]);
    run.expect_code(2);
    assert!(run.stderr().contains("pkscan: the scan could not be done (exit 2)"));
}

#[test]
fn the_pre_commit_hook_runs_the_staged_check() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_sequence().expect("a list of hooks");
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(hook["id"], "pkscan");
    assert_eq!(hook["entry"], "pkscan git --staged");
    assert_eq!(hook["language"], "rust");
    assert_eq!(hook["pass_filenames"], false, "pkscan reads the index itself");
    assert_eq!(hook["stages"][0], "pre-commit");
    assert!(hook["name"].as_str().is_some_and(|n| !n.is_empty()));

    // The entry, as pre-commit runs it in the repository being committed to.
    let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
    let tree = Tree::new(&[("README.md", "hello\n")]);
    let git = |args: &[&str]| tree.git(args);
    git(&["init", "-q"]);
    git(&["add", "README.md"]);
    run_with_pkscan(tree.path(), entry[0], &entry[1..], &[]).expect_code(0);
    tree.write("server/.env", format!("KLAVIYO_PRIVATE_KEY={}\n", key(210)).as_bytes());
    run_with_pkscan(tree.path(), entry[0], &entry[1..], &[]).expect_code(0);
    git(&["add", "server/.env"]);
    let run = run_with_pkscan(tree.path(), entry[0], &entry[1..], &[]);
    run.expect_code(1);
    assert!(run.stdout().contains("server/.env"), "{}", run.stdout());
}

#[test]
fn scan_help_shows_an_example_of_every_option() {
    use clap::CommandFactory;
    let help = Run::new(crate::pkscan_in(project_root(), &["scan", "--help"]));
    help.expect_code(0);
    let text = help.stdout();
    let examples = &text[text.find("Examples:").expect("an Examples section")..];
    let cli = pkscan::cli::Cli::command();
    let scan = cli.find_subcommand("scan").expect("scan");
    for arg in scan.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if ["help", "version"].contains(&long) {
            continue;
        }
        assert!(text.contains(&format!("--{long}")), "--{long} is not in scan --help");
        assert!(examples.contains(&format!("--{long}")), "--{long} has no example");
    }
}

/// Runs a recipe's shell line with `pkscan` replaced by a function that prints its
/// arguments one a line and returns `code`; gives the arguments and the line's status.
fn shell_line(line: &str, env: &[(&str, &str)], code: u8) -> (Vec<String>, i32) {
    let script = format!("pkscan() {{ printf '%s\\n' \"$@\"; return {code}; }}\n{line}");
    let output = Command::new("sh")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .expect("sh runs");
    let args = String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect();
    (args, output.status.code().unwrap_or(-1))
}

/// The value after `flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str) -> &'a str {
    let at = args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    &args[at + 1]
}

/// Checks one shard command, for shard `k` of `n`: it lists the organisation, writes JSON
/// where the merge reads it, and fails only on exit 2.
fn check_shard_line(line: &str, env: &[(&str, &str)], k: usize, n: usize, output: &str) {
    let (args, status) = shell_line(line, env, 1);
    assert_eq!(status, 0, "exit 1 (a leak) keeps the shard going: {line}");
    assert_eq!(args[..3], ["repos", "--github-org", "acme"]);
    assert_eq!(flag(&args, "--shard"), format!("{k}/{n}"));
    assert_eq!(flag(&args, "--format"), "json");
    assert_eq!(flag(&args, "--output"), output);
    assert_ne!(shell_line(line, env, 2).1, 0, "exit 2 fails the shard: {line}");
    assert_eq!(shell_line(line, env, 0).1, 0);
}

#[test]
fn the_org_audit_workflow_shards_then_merges_sarif_and_html() {
    let workflow = yaml("docs/ci/org-audit.yml");
    let shard = &workflow["jobs"]["shard"];
    let matrix: Vec<u64> = shard["strategy"]["matrix"]["shard"]
        .as_sequence()
        .expect("a shard matrix")
        .iter()
        .map(|v| v.as_u64().expect("a number"))
        .collect();
    let n = matrix.len();
    assert_eq!(matrix, (1..=n as u64).collect::<Vec<_>>());
    let steps = shard["steps"].as_sequence().expect("steps");
    let run =
        steps.iter().find(|s| s["run"].as_str().is_some_and(|r| r.starts_with("pkscan repos")));
    let run = run.expect("a pkscan repos step");
    assert_eq!(run["env"]["GITHUB_TOKEN"].as_str(), Some("${{ secrets.ORG_AUDIT_TOKEN }}"));
    let upload = steps.iter().find(|s| s["uses"].as_str() == Some("actions/upload-artifact@v4"));
    let upload = upload.expect("an upload");
    for k in 1..=n {
        let at_k = |text: &str| text.replace("${{ matrix.shard }}", &k.to_string());
        let line = at_k(run["run"].as_str().expect("run"));
        let output = at_k(upload["with"]["path"].as_str().expect("path"));
        check_shard_line(&line, &[("ORG", "acme")], k, n, &output);
        assert!(at_k(upload["with"]["name"].as_str().expect("name")).starts_with("pkscan-shard-"));
    }
    let merge = &workflow["jobs"]["merge"];
    assert_eq!(merge["needs"].as_str(), Some("shard"));
    let steps = merge["steps"].as_sequence().expect("steps");
    let download = &steps[1];
    assert_eq!(download["uses"].as_str(), Some("actions/download-artifact@v4"));
    assert_eq!(download["with"]["pattern"].as_str(), Some("pkscan-shard-*"));
    assert_eq!(download["with"]["merge-multiple"].as_bool(), Some(true));
    let merges: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .filter(|r| r.starts_with("pkscan merge"))
        .collect();
    let mut written = Vec::new();
    for line in &merges {
        // The glob matches nothing where the test runs, so it reaches pkscan as written.
        let (args, _) = shell_line(line, &[], 1);
        assert_eq!(args[..2], ["merge", "shard-*.json"], "{line}");
        if args.contains(&"--output".to_string()) {
            written
                .push((flag(&args, "--format").to_string(), flag(&args, "--output").to_string()));
        }
    }
    assert_eq!(written, [("sarif".into(), "org.sarif".into()), ("html".into(), "org.html".into())]);
    let sarif =
        steps.iter().find(|s| s["uses"].as_str() == Some("github/codeql-action/upload-sarif@v3"));
    assert_eq!(sarif.expect("a SARIF upload")["with"]["sarif_file"].as_str(), Some("org.sarif"));
    let html = steps.iter().filter(|s| s["uses"].as_str() == Some("actions/upload-artifact@v4"));
    assert_eq!(html.map(|s| s["with"]["path"].as_str()).collect::<Vec<_>>(), [Some("org.html")]);
}

#[test]
fn the_org_audit_indexed_job_picks_its_shard_from_the_completion_index() {
    use serde::Deserialize;
    let text = read("docs/k8s/org-audit.yaml");
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("YAML"))
        .collect();
    assert_eq!(docs.len(), 2);
    let (audit, merge) = (&docs[0], &docs[1]);
    assert_eq!(audit["kind"].as_str(), Some("Job"));
    assert_eq!(audit["spec"]["completionMode"].as_str(), Some("Indexed"));
    let n = audit["spec"]["completions"].as_u64().expect("completions") as usize;
    let container = &audit["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"][0].as_str(), Some("/bin/sh"));
    let line = container["args"][0].as_str().expect("the shell line");
    let env = container["env"].as_sequence().expect("env");
    let org = env.iter().find(|e| e["name"].as_str() == Some("ORG")).expect("ORG");
    let token = env.iter().find(|e| e["name"].as_str() == Some("GITHUB_TOKEN")).expect("token");
    assert!(token["valueFrom"]["secretKeyRef"].is_mapping(), "the token comes from a secret");
    for index in 0..n {
        let shown = index.to_string();
        let env = [
            ("ORG", org["value"].as_str().expect("a value")),
            ("JOB_COMPLETION_INDEX", shown.as_str()),
        ];
        check_shard_line(line, &env, index + 1, n, &format!("/reports/shard-{}.json", index + 1));
    }
    let merge_line = merge["spec"]["template"]["spec"]["containers"][0]["args"][0].as_str();
    let (args, _) = shell_line(merge_line.expect("the merge line"), &[], 1);
    assert_eq!(args.iter().filter(|a| *a == "/reports/shard-*.json").count(), 2, "{args:?}");
    assert!(
        args.contains(&"/reports/org.sarif".to_string())
            && args.contains(&"/reports/org.html".to_string())
    );
}
