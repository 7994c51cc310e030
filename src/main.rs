//! The `pkscan` binary: parse the command line, run the library, print the report once,
//! and turn the outcome into an exit code. All the work is in the `pkscan` library.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use pkscan::cli::{Cli, Command, FormatArg, InitArgs, RulesArgs};
use pkscan::{ColorChoice, ExitStatus, Options, PrintOptions};

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(report_panic));
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(ExitStatus::Clean.code()),
        Err(err) => {
            #[allow(clippy::print_stderr)] // the one place a fatal error is printed
            {
                eprintln!("pkscan: {err:#}");
            }
            ExitCode::from(ExitStatus::Failed.code())
        }
    }
}

/// Says where a panic happened but never what it said: a panic while scanning could quote
/// the bytes being scanned, and so a key. A file's scan that panics is also an `errors`
/// entry, and the run goes on.
fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
    #[allow(clippy::print_stderr)] // the panic hook's only output
    {
        eprintln!(
            "pkscan: internal error{at} (its message is withheld, as it may quote scanned data); \
             please report it"
        );
    }
}

fn run(cli: Cli) -> Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => {
            let opts = args.options()?;
            let report = pkscan::scan(&opts)?;
            let paths: Vec<String> = opts
                .paths
                .iter()
                .map(|p| match p.to_str() {
                    Some("-") => "standard input".to_string(),
                    _ => pkscan::display_path(p),
                })
                .collect();
            emit(&opts, &report, format!("files in {}", paths.join(", ")))
        }
        Command::Git(args) => {
            let opts = args.options()?;
            let mut git = args.git_options();
            git.progress = !git.staged && io::stderr().is_terminal();
            let report = pkscan::scan_git(&opts, &git)?;
            if report.summary.history_partial == Some(true) {
                #[allow(clippy::print_stderr)] // a note the user must see, beside the report
                {
                    eprintln!(
                        "pkscan: note: this is a shallow clone, so history was scanned only as \
                         far as it goes (run `git fetch --unshallow` for all of it)"
                    );
                }
            }
            emit(&opts, &report, git_subject(&git))
        }
        Command::Url(args) => {
            let opts = args.options()?;
            let mut urls = args.url_options()?;
            urls.progress = io::stderr().is_terminal();
            let scan = pkscan::scan_urls(&opts, &urls)?;
            let status =
                emit(&opts, &scan.report, format!("the site at {}", urls.urls.join(", ")))?;
            if scan.unreachable.is_empty() {
                return Ok(status);
            }
            #[allow(clippy::print_stderr)] // why the run failed, beside the report
            for error in &scan.unreachable {
                eprintln!(
                    "pkscan: cannot fetch {}: {}",
                    error.path,
                    pkscan::escape_control(&error.message)
                );
            }
            Ok(ExitStatus::Failed)
        }
        Command::Repos(args) => {
            let opts = args.options()?;
            let mut repos = args.repos_options()?;
            repos.progress = io::stderr().is_terminal();
            let scan = pkscan::scan_repos(&opts, &repos)?;
            let subject = repos_subject(scan.selected, repos.shard.map(|s| (s.index, s.count)));
            let status = emit(&opts, &scan.report, subject)?;
            if scan.selected == 0 || scan.scanned > 0 {
                return Ok(status);
            }
            #[allow(clippy::print_stderr)] // why the run failed, beside the report
            {
                eprintln!(
                    "pkscan: none of the {} repositories could be scanned (see the report's \
                     errors)",
                    scan.selected
                );
            }
            Ok(ExitStatus::Failed)
        }
        Command::Merge(args) => {
            let opts = args.options();
            let reports = args
                .reports
                .iter()
                .map(|path| pkscan::load_report(path))
                .collect::<Result<Vec<_>>>()?;
            let n = reports.len();
            let report = pkscan::merge_reports(reports);
            emit(&opts, &report, merge_subject(n, &report))
        }
        Command::Rules(args) => list_rules(&args),
        Command::Init(args) => init(&args),
    }
}

/// What `pkscan git` looked at, in words, for the reports that name it.
fn git_subject(git: &pkscan::GitOptions) -> String {
    let repo = pkscan::display_path(&git.repo);
    if git.staged {
        return format!("the staged change in {repo}");
    }
    match (&git.branch, &git.range) {
        (_, Some(range)) => format!("the git history of {repo}, commits {range}"),
        (Some(branch), None) => format!("the git history of {repo}, from {branch}"),
        (None, None) => format!("the git history of {repo}, every ref"),
    }
}

/// What `pkscan repos` looked at: how many repositories, and which shard of the listing.
fn repos_subject(selected: usize, shard: Option<(u64, u64)>) -> String {
    let what = if selected == 1 { "repository" } else { "repositories" };
    match shard {
        Some((k, n)) => format!("the git histories of {selected} {what}, shard {k}/{n}"),
        None => format!("the git histories of {selected} {what}"),
    }
}

/// What a merged report covers: how many shard reports, and how many repositories hold
/// its findings (the clean ones leave no trace in a report).
fn merge_subject(reports: usize, report: &pkscan::Report) -> String {
    let mut repositories: Vec<&str> =
        report.findings.iter().filter_map(|f| f.repository.as_deref()).collect();
    repositories.sort_unstable();
    repositories.dedup();
    let merged = format!("{reports} merged {}", if reports == 1 { "report" } else { "reports" });
    match repositories.len() {
        0 => merged,
        1 => format!("{merged}, findings in 1 repository"),
        n => format!("{merged}, findings in {n} repositories"),
    }
}

/// Prints the report where the user asked and returns the status it implies. `subject`
/// says what was scanned, for the formats that name it.
fn emit(opts: &Options, report: &pkscan::Report, subject: String) -> Result<ExitStatus> {
    let status = ExitStatus::of(report, opts.fail_on, opts.strict);
    let print_opts = PrintOptions {
        show_secrets: opts.show_secrets,
        color: false,
        fail_on: Some(opts.fail_on),
        root_uri: None,
        subject: Some(subject),
    };
    let rules = opts.rules();
    match &opts.output {
        Some(path) => {
            colored::control::set_override(false);
            let mut buf = Vec::new();
            pkscan::print(opts.format, report, &rules, &print_opts, &mut buf)?;
            write_atomically(path, &buf)?;
        }
        None => {
            let stdout = io::stdout();
            colored::control::set_override(use_color(opts.color, stdout.is_terminal()));
            let mut out = io::BufWriter::new(stdout.lock());
            match pkscan::print(opts.format, report, &rules, &print_opts, &mut out)
                .and_then(|_| out.flush())
            {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(status),
                Err(err) => return Err(err).context("cannot write the report to standard output"),
            }
        }
    }
    warn_partial(opts, report);
    Ok(status)
}

/// A partial scan never looks like a clean one: when the report went elsewhere than a
/// text summary on stdout (another format, or `--output`), its errors get a line here.
fn warn_partial(opts: &Options, report: &pkscan::Report) {
    let n = report.errors.len();
    if n == 0 || (opts.format == pkscan::Format::Text && opts.output.is_none()) {
        return;
    }
    #[allow(clippy::print_stderr)] // beside the report, which holds the details
    {
        eprintln!(
            "pkscan: the scan is partial: {n} {} could not be read (listed in the report's \
             errors); --strict makes this exit 2",
            if n == 1 { "input" } else { "inputs" },
        );
    }
}

fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place, so a
/// reader never sees half a report.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let context = || format!("cannot write the report to {}", path.display());
    // A device or pipe (`--output /dev/stdout`, `/dev/null`) is written in place: renaming
    // a file over it would replace the device node itself.
    if std::fs::metadata(path).is_ok_and(|meta| !meta.is_file()) {
        let mut target =
            std::fs::OpenOptions::new().write(true).open(path).with_context(context)?;
        return target.write_all(bytes).and_then(|_| target.flush()).with_context(context);
    }
    let dir =
        path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let temp = dir.join(format!(".{name}.pkscan-{}.tmp", std::process::id()));
    let result = std::fs::write(&temp, bytes).and_then(|_| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(context)
}

fn list_rules(args: &RulesArgs) -> Result<ExitStatus> {
    let rules = args.options()?.rules();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = match args.format {
        FormatArg::Json => pkscan::print_rules_json(&rules, &mut out),
        _ => pkscan::print_rules_text(&rules, &mut out),
    };
    match result.and_then(|_| out.flush()) {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(ExitStatus::Clean),
    }
}

fn init(args: &InitArgs) -> Result<ExitStatus> {
    let path = pkscan::init_config(std::path::Path::new("."), args.force)?;
    let mut out = io::stdout().lock();
    let written = writeln!(
        out,
        "wrote {}: every setting at its default; edit it, then run `pkscan scan`",
        pkscan::display_path(&path)
    );
    match written {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(ExitStatus::Clean),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
