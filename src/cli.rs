//! The command line, as clap derive types. Their doc comments are the `--help` text.
//! Nothing here is the configuration: `options` turns these into the library's plain
//! `Options` once. The top floor: only `main.rs` (and tests of `--help`) use it, and no
//! other module of the library imports it.
// The doc comments are `--help` text, where `<a href>` is words, not an HTML tag.
#![allow(rustdoc::invalid_html_tags)]

mod options;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find leaked Klaviyo private API keys in files, git history, built site assets and live
/// sites, and say how each one leaked and what to do about it.
#[derive(Debug, Parser)]
#[command(name = "pkscan", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // built once per run; boxing would only add noise
pub enum Command {
    /// Scan files and directories (default: .); "-" reads stdin.
    ///
    /// Every regular file is read, hidden and git-ignored ones too (built assets such as
    /// dist/ and *.map are usually git-ignored and are exactly where keys ship), but not
    /// inside .git/ directories: history is `pkscan git`'s job.
    ///
    /// Settings come from .pkscan.toml at the root of the scanned git work tree (else the
    /// current directory) or --config FILE; flags override them.
    #[command(after_long_help = SCAN_EXAMPLES)]
    Scan(ScanArgs),
    /// Scan a git repository's history: every commit reachable from any ref (default: .).
    ///
    /// Each key is reported once per path, with the commit that introduced it (author,
    /// date, summary), even when a later commit removed it: anyone with a clone still has
    /// it. Each distinct file version is read once, however many commits hold it.
    ///
    /// With --staged, only the lines the staged change adds are checked (for a pre-commit
    /// hook): not unstaged edits, not lines already committed.
    ///
    /// Examples: pkscan git --format sarif --output pkscan.sarif
    ///           pkscan git --format html --output history.html
    ///           pkscan git --range origin/main..HEAD
    ///           pkscan git --staged
    Git(GitArgs),
    /// Audit a live site: each page, what it loads and the same-site pages it links to.
    ///
    /// Every start URL is fetched and scanned as served; so is what it loads (scripts,
    /// styles, preloads, manifests, frames), and scripts and styles one level further:
    /// their source maps (sourceMappingURL comment, SourceMap header) and the chunks and
    /// JSON they name. Same-site <a href> pages are followed to --depth.
    ///
    /// Only http/https URLs on a start URL's host and port (or an --allow-host) are
    /// requested, each at most once; a URL that holds a private key is never requested,
    /// on any host. A start URL that cannot be fetched makes the exit code 2, after the
    /// rest is scanned and reported.
    #[command(after_long_help = URL_EXAMPLES)]
    Url(UrlArgs),
    /// Audit the history of many repositories in one run: local paths, clone URLs, or a
    /// GitHub organisation's or user's repositories; shardable over a CI matrix.
    ///
    /// Each URL is cloned as a bare mirror into a temporary folder (or --keep-clones DIR),
    /// scanned as `pkscan git` scans, then deleted. Findings name their repository; a key
    /// found in several repositories is one key listing them all. No .pkscan.toml is read
    /// from the audited repositories: only --config FILE applies, to all of them. A
    /// repository that cannot be cloned or read is listed in errors and the rest go on;
    /// the exit code is 2 only when none could be scanned (or with --strict).
    #[command(after_long_help = REPOS_EXAMPLES)]
    Repos(ReposArgs),
    /// Combine the JSON reports of `pkscan repos --shard K/N` runs into one report, as one
    /// run over all their repositories would give it, in any --format.
    Merge(MergeArgs),
    /// List the rules, with their ids, severities and remediation help.
    Rules(RulesArgs),
    /// Write a commented .pkscan.toml with the defaults in the current directory.
    ///
    /// Refuses (exit 2) when one exists, unless --force.
    Init(InitArgs),
}

/// Shown after `pkscan scan --help`: an example of every option.
const SCAN_EXAMPLES: &str = "\
Examples:
  pkscan scan                                    the current directory
  pkscan scan dist/ site/index.html              files and directories
  cat bundle.js | pkscan scan -                  standard input
  pkscan scan --format sarif --output pkscan.sarif .
                                                 SARIF for GitHub code scanning
  pkscan scan --format github                    annotations in a GitHub Actions log
  pkscan scan --format json --show-secrets       full keys, for rotating them
  pkscan scan --format html --output report.html one page to read: a card per key
  pkscan scan --color never | less               plain text
  pkscan scan --fail-on critical --strict        exit 1 only on critical findings, exit 2
                                                 when anything could not be read
  pkscan scan --threads 4 --follow --gitignore   4 workers, follow symlinks, skip ignored files
  pkscan scan --exclude 'vendor/**' --exclude '*.min.css'
                                                 do not read these paths
  pkscan scan --max-file-size 500MiB             skip (and report) larger files
  pkscan scan --no-mmap                          read files, never map them
  pkscan scan --no-decode dist/                  bytes as stored: no base64, gzip, zip...
  pkscan scan --max-member-size 1GiB --max-total-size 4GiB --max-members 500000 release.zip
                                                 read bigger archives than the defaults
  pkscan scan --max-ratio 1000 --max-depth 8     accept denser compression, deeper nesting
  pkscan scan --config ci/pkscan.toml            another configuration file
  pkscan scan --format json --output pkscan-baseline.json
                                                 record today's findings as a baseline...
  pkscan scan --baseline pkscan-baseline.json    ...then report only new ones
  pkscan scan --verify                           ask Klaviyo which keys are live (sends each
                                                 key found to Klaviyo, over TLS)
  pkscan scan --verify-only-live --verify-timeout 20
                                                 report only keys that may still work
  pkscan scan --verify --klaviyo-api-base http://127.0.0.1:8080
                                                 check against a local test server
";

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan; "-" reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub walk: WalkArgs,

    #[command(flatten)]
    pub decode: DecodeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Shown after `pkscan url --help`.
const URL_EXAMPLES: &str = "\
Examples:
  pkscan url https://shop.example/               a storefront, its assets and linked pages
  pkscan url --depth 0 https://shop.example/checkout
                                                 one page and what it loads
  pkscan url --allow-host cdn.shop.example https://shop.example/
                                                 also fetch assets from the CDN
  cat urls.txt | pkscan url -                    a list of URLs, one a line
  pkscan url --header 'Authorization: Basic …' https://staging.shop.example/
                                                 a site behind basic auth (values never shown)
  pkscan url --format sarif --output site.sarif https://shop.example/
  pkscan url --format html --output site.html https://shop.example/
";

/// `pkscan url`: start URLs, crawl bounds and HTTP settings.
#[derive(Debug, Args)]
pub struct UrlArgs {
    /// Start URLs (http or https); "-" reads URLs from standard input, one a line.
    #[arg(value_name = "URL", required = true)]
    pub urls: Vec<String>,

    /// Follow same-site <a href> links this many steps from a start page (0: only the
    /// start pages and what they load).
    #[arg(long, value_name = "N", default_value_t = 1, help_heading = "Crawl")]
    pub depth: u32,

    /// Fetch at most this many pages, start pages included.
    #[arg(long, value_name = "N", default_value_t = 50, help_heading = "Crawl")]
    pub max_pages: usize,

    /// Also request URLs on this host (repeatable), e.g. the site's CDN: cdn.example.com or
    /// 127.0.0.1:8080. Without a port, the default ports (80, 443).
    #[arg(long, value_name = "HOST[:PORT]", help_heading = "Crawl")]
    pub allow_host: Vec<String>,

    /// Budget of each request, connect to last byte, e.g. 20s, 1.5s, 500ms.
    #[arg(long, value_name = "DURATION", default_value = "20s", help_heading = "Limits")]
    pub timeout: String,

    /// Scan at most this much of each response (after Content-Encoding); a larger one is
    /// scanned up to the limit and listed in errors as truncated.
    #[arg(long, value_name = "SIZE", default_value = "32MiB", help_heading = "Limits")]
    pub max_response_bytes: String,

    /// Requests in flight at once (at most 4 per host).
    #[arg(long, value_name = "N", default_value_t = 8, help_heading = "Limits")]
    pub concurrency: usize,

    /// Requests in the whole run at most, redirect hops included.
    #[arg(long, value_name = "N", default_value_t = 500, help_heading = "Limits")]
    pub max_requests: usize,

    /// Send this header with every request (repeatable), e.g. "Authorization: Basic …" for
    /// a staging site. Values are never written in any message.
    #[arg(long, value_name = "NAME: VALUE", help_heading = "HTTP")]
    pub header: Vec<String>,

    /// The User-Agent header (default: pkscan/VERSION).
    #[arg(long, value_name = "TEXT", help_heading = "HTTP")]
    pub user_agent: Option<String>,

    #[command(flatten)]
    pub decode: DecodeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Shown after `pkscan repos --help`.
const REPOS_EXAMPLES: &str = "\
Examples:
  pkscan repos ~/src/shop ~/src/app              two local repositories
  pkscan repos https://git.example/acme/shop.git ssh://git@git.example/acme/app.git
  gh repo list acme --json url -q '.[].url' | pkscan repos -
                                                 clone URLs, one a line
  GITHUB_TOKEN=… pkscan repos --github-org acme --skip-forks --skip-archived
                                                 every repository of an organisation
  pkscan repos --github-org acme --shard 3/8 --format json --output shard-3.json
  pkscan merge shard-*.json --format sarif --output org.sarif
                                                 one shard of eight, then all of them
  pkscan repos --github-org acme --keep-clones /var/cache/pkscan
                                                 nightly: fetch only what changed
";

/// `pkscan repos`: which repositories, how many at once, and the shard.
#[derive(Debug, Args)]
pub struct ReposArgs {
    /// Local repository paths and clone URLs (https://, http:// on loopback only,
    /// ssh:// or git@host:path, git://, file://); "-" reads them from standard input, one
    /// a line.
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,

    /// Read sources from FILE, one a line (blank lines and # comments skipped).
    #[arg(long, value_name = "FILE", help_heading = "Repositories")]
    pub from: Option<PathBuf>,

    /// Every repository of this GitHub organisation (token from GITHUB_TOKEN).
    #[arg(long, value_name = "ORG", conflicts_with = "github_user", help_heading = "Repositories")]
    pub github_org: Option<String>,

    /// Every repository this GitHub user owns (token from GITHUB_TOKEN).
    #[arg(long, value_name = "USER", help_heading = "Repositories")]
    pub github_user: Option<String>,

    /// The GitHub API, e.g. `https://github.example/api/v3` for GitHub Enterprise.
    #[arg(long, value_name = "URL", default_value = crate::repos::github::DEFAULT_API_BASE, help_heading = "Repositories")]
    pub github_api_base: String,

    /// Leave forks out of a GitHub listing.
    #[arg(long, help_heading = "Repositories")]
    pub skip_forks: bool,

    /// Leave archived repositories out of a GitHub listing.
    #[arg(long, help_heading = "Repositories")]
    pub skip_archived: bool,

    /// Only shard K of N (1-based): the repositories whose SHA-256 of the normalised name
    /// falls there. Merge the shards' JSON reports with `pkscan merge`.
    #[arg(long, value_name = "K/N", help_heading = "Repositories")]
    pub shard: Option<String>,

    /// Repositories cloned and scanned at once; disk use is bounded by those in flight.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=256), help_heading = "Repositories")]
    pub jobs: u64,

    /// Keep mirror clones in DIR and fetch into them on the next run, instead of cloning
    /// into a temporary folder deleted after each scan.
    #[arg(long, value_name = "DIR", help_heading = "Repositories")]
    pub keep_clones: Option<PathBuf>,

    /// Skip paths matching this gitignore-style glob (repeatable), e.g. --exclude 'vendor/**'.
    #[arg(long, value_name = "GLOB", help_heading = "Walk")]
    pub exclude: Vec<String>,

    /// Skip file versions larger than this (e.g. 500MiB); default: no limit.
    #[arg(long, value_name = "SIZE", help_heading = "Walk")]
    pub max_file_size: Option<String>,

    #[command(flatten)]
    pub decode: DecodeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `pkscan merge`: the shard reports and how to print their union.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports of `pkscan repos --format json` (any order).
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    /// Output format: text, json, sarif, github or html.
    #[arg(long, value_enum, default_value_t = FormatArg::Text, help_heading = "Output")]
    pub format: FormatArg,

    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// Show full keys, when the shards' reports hold them (written with --show-secrets).
    #[arg(long, help_heading = "Output")]
    pub show_secrets: bool,

    /// When to colour text output; NO_COLOR in the environment turns auto off.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorArg,

    /// Exit 1 when a finding of this severity or above is reported [default: medium].
    #[arg(long, value_enum, value_name = "SEVERITY", help_heading = "Exit status")]
    pub fail_on: Option<SeverityArg>,

    /// Exit 2 when any shard's report lists errors.
    #[arg(long, help_heading = "Exit status")]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct GitArgs {
    /// The repository, or any folder inside it (found upwards, as git does).
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,

    /// Only the lines the staged change adds (the index against HEAD), for pre-commit hooks.
    #[arg(long, conflicts_with_all = ["branch", "range"], help_heading = "History")]
    pub staged: bool,

    /// Only commits reachable from REF (a branch, tag or commit) instead of every ref.
    #[arg(long, value_name = "REF", conflicts_with = "range", help_heading = "History")]
    pub branch: Option<String>,

    /// Only commits reachable from B but not from A, e.g. --range origin/main..HEAD for a
    /// pull request; a key already in A is not reported.
    #[arg(long, value_name = "A..B", help_heading = "History")]
    pub range: Option<String>,

    /// Skip paths matching this gitignore-style glob (repeatable), e.g. --exclude 'vendor/**'.
    #[arg(long, value_name = "GLOB", help_heading = "Walk")]
    pub exclude: Vec<String>,

    /// Skip file versions larger than this (e.g. 500MiB); default: no limit.
    #[arg(long, value_name = "SIZE", help_heading = "Walk")]
    pub max_file_size: Option<String>,

    #[command(flatten)]
    pub decode: DecodeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every scanning command shares.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// Output format: text for people, json for programs, sarif for GitHub code scanning,
    /// github for workflow annotations, html for one self-contained page to read or share
    /// (e.g. --format html --output report.html).
    #[arg(long, value_enum, default_value_t = FormatArg::Text, help_heading = "Output")]
    pub format: FormatArg,

    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// Show full keys in the report. By default every output redacts them (pk_3f9a…4b).
    #[arg(long, help_heading = "Output")]
    pub show_secrets: bool,

    /// When to colour text output; NO_COLOR in the environment turns auto off.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorArg,

    /// Exit 1 when a finding of this severity or above is reported.
    #[arg(long, value_enum, value_name = "SEVERITY", help_heading = "Exit status")]
    pub fail_on: Option<SeverityArg>,

    /// Exit 2 when anything could not be read (the report's errors), even if nothing leaked.
    #[arg(long, help_heading = "Exit status")]
    pub strict: bool,

    /// Worker threads; 0 means one per core.
    #[arg(long, short = 'j', value_name = "N", help_heading = "Performance")]
    pub threads: Option<usize>,

    /// Configuration file, e.g. --config ci/pkscan.toml (default: .pkscan.toml at the root of
    /// the scanned git work tree, else in the current directory).
    #[arg(long, value_name = "FILE", help_heading = "Configuration")]
    pub config: Option<PathBuf>,

    /// A JSON report of an earlier run: its findings are not reported again and do not
    /// fail the run (counted as baselined), e.g. --baseline pkscan-baseline.json.
    #[arg(long, value_name = "FILE", help_heading = "Configuration")]
    pub baseline: Option<PathBuf>,

    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// The opt-in liveness check against Klaviyo.
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// Ask Klaviyo whether each key found is live, and for its account's public key. Sends
    /// each distinct key, over TLS, to Klaviyo's accounts endpoint and nothing else; off by
    /// default.
    #[arg(long, help_heading = "Verification")]
    pub verify: bool,

    /// With --verify (implied): report only keys that are live or could not be checked;
    /// hide keys Klaviyo rejected, and placeholders. The exit code follows what is shown.
    #[arg(long, help_heading = "Verification")]
    pub verify_only_live: bool,

    /// Klaviyo's API base URL: https, or plain http only to a test server on loopback.
    #[arg(long, value_name = "URL", default_value = crate::verify::DEFAULT_API_BASE,
          value_parser = crate::verify::parse_api_base, help_heading = "Verification")]
    pub klaviyo_api_base: String,

    /// Seconds to wait for each answer from Klaviyo before calling the key unknown.
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600), help_heading = "Verification")]
    pub verify_timeout: u64,
}

/// How the file tree is walked.
#[derive(Debug, Args, Clone)]
pub struct WalkArgs {
    /// Honour .gitignore, .ignore and git's exclude files (off by default: ignored build
    /// output is where keys ship).
    #[arg(long, help_heading = "Walk")]
    pub gitignore: bool,

    /// Skip paths matching this gitignore-style glob (repeatable), e.g. --exclude 'vendor/**'.
    #[arg(long, value_name = "GLOB", help_heading = "Walk")]
    pub exclude: Vec<String>,

    /// Follow symbolic links (a link loop is then reported as an error).
    #[arg(long, short = 'L', help_heading = "Walk")]
    pub follow: bool,

    /// Skip files larger than this (e.g. 500MiB); default: no limit, files are streamed.
    #[arg(long, value_name = "SIZE", help_heading = "Walk")]
    pub max_file_size: Option<String>,

    /// Read every file with read(2), never through a memory map (large files are mapped by
    /// default: it saves the kernel a copy).
    #[arg(long, help_heading = "Walk")]
    pub no_mmap: bool,
}

/// The decoding layers and their limits.
#[derive(Debug, Args, Clone, Default)]
pub struct DecodeArgs {
    /// Look only at bytes as stored: no base64, compression, archives or UTF-16.
    #[arg(long, help_heading = "Decoding")]
    pub no_decode: bool,

    /// Most bytes decompressed from one archive member or compressed file [default: 256MiB].
    #[arg(long, value_name = "SIZE", help_heading = "Decoding")]
    pub max_member_size: Option<String>,

    /// Most bytes decompressed from one file named or found, all its members together
    /// [default: 1GiB].
    #[arg(long, value_name = "SIZE", help_heading = "Decoding")]
    pub max_total_size: Option<String>,

    /// Largest compression ratio accepted once past 1 MiB; a higher one is treated as a
    /// decompression bomb [default: 100].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Decoding")]
    pub max_ratio: Option<u64>,

    /// How many archives and compressed streams may nest inside each other [default: 4].
    #[arg(long, value_name = "N", help_heading = "Decoding")]
    pub max_depth: Option<u32>,

    /// Most members read from one archive [default: 100000].
    #[arg(long, value_name = "N", help_heading = "Decoding")]
    pub max_members: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// text or json.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Configuration file whose custom rules are listed too, e.g. --config ci/pkscan.toml
    /// (default: .pkscan.toml at the root of the git work tree, else in the current directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing .pkscan.toml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Sarif,
    Github,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Critical,
    High,
    Medium,
    Low,
}
