//! `pkscan url` against fixture sites served on loopback by a small HTTP/1.1 server that
//! lives in the test: findings (URL, line, column, rule), errors, exit codes, and the
//! server's own request log (nothing off scope, nothing carrying a key, nothing twice,
//! the count within the caps).

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;

use crate::{key, Run};

/// What the test server answers for one request target.
#[derive(Clone)]
enum Reply {
    Body {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Headers, then a byte every 100 ms for a minute: a response that never finishes.
    Trickle,
}

fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    Reply::Body {
        status: 200,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.into(),
    }
}

fn with_header(reply: Reply, name: &str, value: &str) -> Reply {
    match reply {
        Reply::Body { status, mut headers, body } => {
            headers.push((name.into(), value.into()));
            Reply::Body { status, headers, body }
        }
        other => other,
    }
}

fn redirect(status: u16, location: &str) -> Reply {
    Reply::Body { status, headers: vec![("Location".into(), location.into())], body: vec![] }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Logged {
    target: String,
    headers: Vec<(String, String)>,
}

/// A loopback HTTP server with fixed routes, logging every request it receives.
struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Logged>>>,
    /// The most requests it was answering at the same time.
    peak: Arc<AtomicUsize>,
}

impl Server {
    fn start(ip: &str, routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let peak = Arc::new(AtomicUsize::new(0));
        let active = Arc::new(AtomicUsize::new(0));
        let routes = Arc::new(routes);
        let (log2, peak2) = (log.clone(), peak.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, log, peak, active) =
                    (routes.clone(), log2.clone(), peak2.clone(), active.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, &routes, &log, &peak, &active);
                });
            }
        });
        Server { addr, log, peak }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn targets(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().map(|l| l.target.clone()).collect()
    }
}

fn handle(
    stream: TcpStream,
    routes: &HashMap<String, Reply>,
    log: &Mutex<Vec<Logged>>,
    peak: &AtomicUsize,
    active: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.trim_end().split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    log.lock().unwrap().push(Logged { target: target.clone(), headers });
    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
    peak.fetch_max(now, Ordering::SeqCst);
    let mut counted = true;
    let mut done = || {
        if std::mem::take(&mut counted) {
            active.fetch_sub(1, Ordering::SeqCst);
        }
    };
    let result = respond(stream, routes.get(&target), &mut done);
    done();
    result
}

/// Writes the reply. `done` is called before the client can have the whole of it (ahead of
/// the last byte), so the server never counts a request the client has finished with: a
/// count taken after the write raced the client's next request and read 5 under load.
fn respond(
    mut stream: TcpStream,
    reply: Option<&Reply>,
    done: &mut dyn FnMut(),
) -> std::io::Result<()> {
    let not_found = Reply::Body { status: 404, headers: vec![], body: b"not found".to_vec() };
    match reply.unwrap_or(&not_found) {
        Reply::Body { status, headers, body } => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let mut reply = head.into_bytes();
            reply.extend_from_slice(body);
            let last = reply.pop();
            stream.write_all(&reply)?;
            stream.flush()?;
            done();
            stream.write_all(&Vec::from_iter(last))?;
        }
        Reply::Trickle => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n",
            )?;
            // Never finished: the client gives up at its deadline, which the server only
            // learns at its next write, so from here it is not counted.
            done();
            for _ in 0..600 {
                stream.write_all(b"/")?;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    stream.flush()
}

/// (line, column) of the first `needle` in `text`, 1-based, columns in code points.
fn at(text: &str, needle: &str) -> (u64, u64) {
    let offset = text.find(needle).unwrap_or_else(|| panic!("{needle} not in fixture"));
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() as u64 + 1;
    (line, column)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `pkscan ARGS` with a clean environment (no proxy variables), `stdin` fed in.
fn pkscan(args: &[&str], stdin: &str) -> (Run, Duration) {
    let started = Instant::now();
    let output = Command::cargo_bin("pkscan")
        .unwrap()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    (Run::new(output), started.elapsed())
}

/// The fixture storefront: every kind of leak a visitor downloads, and every hostile
/// endpoint the crawler must survive. Keys by name, to assert against.
struct Storefront {
    site: Server,
    partner: Server,
    keys: HashMap<&'static str, String>,
    bodies: HashMap<&'static str, String>,
}

fn storefront() -> Storefront {
    let partner_routes = HashMap::from([
        ("/".to_string(), ok("text/html", format!("<p>{}</p>", key(900)))),
        ("/widget.js".to_string(), ok("application/javascript", format!("k='{}'", key(901)))),
    ]);
    // Another loopback address: a different host, not just a different port.
    let partner = Server::start("127.0.0.2", partner_routes);
    let keys: HashMap<&str, String> = [
        ("inline", key(1)),
        ("markup", key(2)),
        ("theme", key(3)),
        ("bundle", key(4)),
        ("chunk", key(5)),
        ("chunk_map", key(6)),
        ("bundle_map", key(7)),
        ("css_map", key(8)),
        ("gzip", key(9)),
        ("moved", key(10)),
        ("about", key(11)),
        ("big_head", key(12)),
        ("big_tail", key(13)),
        ("in_url", key(14)),
        ("deeper", key(15)),
    ]
    .into_iter()
    .collect();
    let k = |name: &str| keys[name].clone();
    let index = format!(
        r#"<!doctype html>
<html><head>
<title>Shop</title>
<link rel="stylesheet" href="/assets/theme.css">
<link rel="icon" href="/favicon.ico">
<script src="/assets/theme.js"></script>
<script src="/assets/bundle.min.js" defer></script>
<script src="/assets/gz.js"></script>
<script src="/assets/missing.js"></script>
<script src="/old/theme.js"></script>
<script src="/loop/a.js"></script>
<script src="/chain/0"></script>
<script src="/slow.js"></script>
<script src="/big.js"></script>
<script src="{partner}/widget.js"></script>
<script src="/assets/loader.js?key={in_url}"></script>
<script>
  var _learnq = _learnq || [];
  _learnq.push(['account', '{inline}']);
</script>
</head><body>
<div data-k="{markup}">Welcome</div>
<a href="/about">About</a> <a href="/about#team">Team</a> <a href="/">Home</a>
<a href="{partner}/">Partner</a> <a href="mailto:shop@example.com">Mail</a>
</body></html>
"#,
        partner = partner.url(""),
        in_url = k("in_url"),
        inline = k("inline"),
        markup = k("markup"),
    );
    let about = format!(
        "<!doctype html>\n<html><body>\n<p>About us</p>\n<!-- {} -->\n<a href=\"/\">Home</a> <a href=\"/deeper\">More</a>\n<script src=\"/assets/theme.js\"></script>\n</body></html>\n",
        k("about")
    );
    let theme_js = format!(
        "// Theme script\nwindow.shop = {{\n  klaviyo: {{ company_id: \"{}\" }}\n}};\n",
        k("theme")
    );
    let bundle = format!(
        "!function(){{var r={{7:\"/assets/chunk-7f3a.js\"}};function l(e){{return import(r[e])}}var k=\"{}\";window.a=function(){{return l(7)}}}}();",
        k("bundle")
    );
    let chunk = format!(
        "export const cfg = {{ key: \"{}\" }};\n//# sourceMappingURL=chunk-7f3a.js.map\n",
        k("chunk")
    );
    let chunk_map = format!(
        "{{\"version\":3,\"sources\":[\"src/cfg.js\"],\"sourcesContent\":[\"export const cfg = {{ key: '{}' }};\\n\"],\"mappings\":\"AAAA\"}}",
        k("chunk_map")
    );
    let bundle_map = format!(
        "{{\"version\":3,\"sources\":[\"src/main.js\"],\"sourcesContent\":[\"const k = '{}';\\n\"],\"mappings\":\"AAAA\"}}",
        k("bundle_map")
    );
    let css = "body{color:#123}\n/*# sourceMappingURL=theme.css.map */\n".to_string();
    let css_map = format!(
        "{{\"version\":3,\"sources\":[\"theme.scss\"],\"sourcesContent\":[\"// {}\\nbody {{ color: #123 }}\\n\"],\"mappings\":\"AAAA\"}}",
        k("css_map")
    );
    let gz_plain = format!("// served with Content-Encoding: gzip\nvar k = '{}';\n", k("gzip"));
    let moved = format!("var moved = '{}';\n", k("moved"));
    let deeper = format!("<p>{}</p>", k("deeper"));
    let mut big = format!("var head = '{}';\n", k("big_head"));
    big.push_str(&"/* padding */\n".repeat(20_000)); // 280 kB, over the 100 KiB limit
    big.push_str(&format!("var tail = '{}';\n", k("big_tail")));

    let mut routes: HashMap<String, Reply> = HashMap::new();
    let mut add = |path: &str, reply: Reply| {
        routes.insert(path.to_string(), reply);
    };
    add("/", ok("text/html; charset=utf-8", index.clone()));
    add("/about", ok("text/html", about.clone()));
    add("/deeper", ok("text/html", deeper));
    add("/assets/theme.css", ok("text/css", css.clone()));
    add("/assets/theme.css.map", ok("application/json", css_map.clone()));
    add("/assets/theme.js", ok("application/javascript", theme_js.clone()));
    add(
        "/assets/bundle.min.js",
        with_header(
            ok("application/javascript", bundle.clone()),
            "SourceMap",
            "/assets/bundle.min.js.map",
        ),
    );
    add("/assets/bundle.min.js.map", ok("application/json", bundle_map.clone()));
    add("/assets/chunk-7f3a.js", ok("text/javascript", chunk.clone()));
    add("/assets/chunk-7f3a.js.map", ok("application/json", chunk_map.clone()));
    add(
        "/assets/gz.js",
        with_header(
            ok("application/javascript", gzip(gz_plain.as_bytes())),
            "Content-Encoding",
            "gzip",
        ),
    );
    add("/old/theme.js", redirect(301, "/r1"));
    add("/r1", redirect(302, "/assets/moved.js"));
    add("/assets/moved.js", ok("application/javascript", moved.clone()));
    add("/loop/a.js", redirect(302, "/loop/b.js"));
    add("/loop/b.js", redirect(302, "/loop/a.js"));
    for i in 0..10 {
        add(&format!("/chain/{i}"), redirect(302, &format!("/chain/{}", i + 1)));
    }
    add("/slow.js", Reply::Trickle);
    add("/big.js", ok("application/javascript", big.clone()));
    let site = Server::start("127.0.0.1", routes);
    let bodies = HashMap::from([
        ("index", index),
        ("about", about),
        ("theme_js", theme_js),
        ("bundle", bundle),
        ("chunk", chunk),
        ("chunk_map", chunk_map),
        ("bundle_map", bundle_map),
        ("css_map", css_map),
        ("gz", gz_plain),
        ("moved", moved),
        ("big", big),
    ]);
    Storefront { site, partner, keys, bodies }
}

impl Storefront {
    /// (URL, line, column, rule) of `key` in the fixture body served at `path`.
    fn finding(&self, path: &str, body: &str, key: &str, rule: &str) -> (String, u64, u64, String) {
        let (line, column) = at(&self.bodies[body], &self.keys[key]);
        (self.site.url(path), line, column, rule.to_string())
    }
}

const ASSET: &str = "klaviyo-private-key-in-public-asset";

#[test]
fn a_storefront_is_audited_within_scope_and_bounds() {
    let shop = storefront();
    let start = shop.site.url("/");
    let (run, elapsed) = pkscan(
        &["url", &start, "--timeout", "1s", "--max-response-bytes", "100KiB", "--format", "json"],
        "",
    );
    run.expect_code(1);
    let report = run.json();

    let mut want = vec![
        shop.finding("/", "index", "inline", "klaviyo-private-key-as-account"),
        shop.finding("/", "index", "in_url", ASSET),
        shop.finding("/", "index", "markup", ASSET),
        shop.finding("/about", "about", "about", ASSET),
        shop.finding("/assets/bundle.min.js", "bundle", "bundle", ASSET),
        shop.finding("/assets/bundle.min.js.map", "bundle_map", "bundle_map", ASSET),
        shop.finding("/assets/chunk-7f3a.js", "chunk", "chunk", ASSET),
        shop.finding("/assets/chunk-7f3a.js.map", "chunk_map", "chunk_map", ASSET),
        shop.finding("/assets/gz.js", "gz", "gzip", ASSET),
        shop.finding("/assets/moved.js", "moved", "moved", ASSET),
        shop.finding("/assets/theme.css.map", "css_map", "css_map", ASSET),
        shop.finding("/assets/theme.js", "theme_js", "theme", "klaviyo-private-key-as-company-id"),
        shop.finding("/big.js", "big", "big_head", ASSET),
    ];
    want.sort();
    let mut got = report.places();
    got.sort();
    assert_eq!(got, want, "stderr: {}", run.stderr());
    assert!(report.findings.iter().all(|f| f.decoded.is_empty()), "{:?}", report.findings);
    assert!(
        shop.keys.values().all(|k| !run.stdout().contains(k.as_str())),
        "a key was not redacted"
    );

    let errors: Vec<(String, String)> =
        report.errors.iter().map(|e| (e.path.clone(), e.message.clone())).collect();
    let u = |p: &str| shop.site.url(p);
    let mut want_errors = vec![
        (u("/assets/missing.js"), "HTTP 404".to_string()),
        (u("/big.js"), "truncated: larger than 100 KiB (--max-response-bytes); only the first part was scanned".into()),
        (u("/chain/0"), format!("HTTP 302 redirect chain longer than 5 hops: stopped at {}", u("/chain/6"))),
        (
            u("/loop/a.js"),
            format!("HTTP 302 redirect loop: {} -> {} -> {}", u("/loop/a.js"), u("/loop/b.js"), u("/loop/a.js")),
        ),
        (u("/slow.js"), "timed out after 1 s".into()),
    ];
    want_errors.sort();
    assert_eq!(errors, want_errors);

    // The server's side: what was asked, once each, nothing off scope or carrying a key.
    let targets = shop.site.targets();
    let unique: BTreeSet<_> = targets.iter().cloned().collect();
    assert_eq!(unique.len(), targets.len(), "a URL was requested twice: {targets:?}");
    let expected: BTreeSet<String> = [
        "/",
        "/about",
        "/assets/theme.css",
        "/assets/theme.css.map",
        "/assets/theme.js",
        "/assets/bundle.min.js",
        "/assets/bundle.min.js.map",
        "/assets/chunk-7f3a.js",
        "/assets/chunk-7f3a.js.map",
        "/assets/gz.js",
        "/assets/missing.js",
        "/old/theme.js",
        "/r1",
        "/assets/moved.js",
        "/loop/a.js",
        "/loop/b.js",
        "/chain/0",
        "/chain/1",
        "/chain/2",
        "/chain/3",
        "/chain/4",
        "/chain/5",
        "/slow.js",
        "/big.js",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(unique, expected);
    assert!(targets.iter().all(|t| !t.contains("pk_")), "{targets:?}");
    assert_eq!(shop.partner.targets(), Vec::<String>::new(), "the other host was requested");
    assert!(shop.site.peak.load(Ordering::SeqCst) <= 4, "more than 4 requests at once to one host");
    let log = shop.site.log.lock().unwrap().clone();
    let agent = format!("pkscan/{}", env!("CARGO_PKG_VERSION"));
    assert!(log.iter().all(|l| l.headers.contains(&("user-agent".into(), agent.clone()))));

    assert_eq!(report.summary.urls_fetched, Some(expected.len() as u64));
    // Off scope: the partner's page and widget; holding a key: the loader; the mailto: link;
    // the redirect that left the chain cap is not skipped but an error.
    assert_eq!(report.summary.urls_skipped, Some(4));
    let skipped = report.skipped_urls.clone().unwrap();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped.iter().all(|u| !carries_key_shape(u)), "a key in skipped_urls: {skipped:?}");
    assert!(skipped.iter().any(|u| u.contains("pk_")), "the loader, redacted: {skipped:?}");
    assert_eq!(report.summary.errors, 5);
    // The trickling response runs for a minute; the 1 s budget ended it.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

fn routes(list: Vec<(&str, Reply)>) -> HashMap<String, Reply> {
    list.into_iter().map(|(path, reply)| (path.to_string(), reply)).collect()
}

/// A port on which nothing listens.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The line a JSON report with one error puts on stderr.
const PARTIAL_1: &str = "pkscan: the scan is partial: 1 input could not be read (listed in the \
                         report's errors); --strict makes this exit 2\n";

#[test]
fn an_unreachable_start_url_fails_the_run_after_the_rest_is_reported() {
    let page = format!("<p>{}</p>\n<p>{} pkscan:allow</p>\n", key(20), key(21));
    let site = Server::start("127.0.0.1", routes(vec![("/", ok("text/html", page.clone()))]));
    let dead = format!("http://127.0.0.1:{}/", closed_port());
    let (run, _) = pkscan(&["url", &site.url("/"), &dead, "--format", "json"], "");
    run.expect_code(2);
    let report = run.json();
    let (line, column) = at(&page, &key(20));
    assert_eq!(report.places(), vec![(site.url("/"), line, column, ASSET.to_string())]);
    assert_eq!(report.summary.allowed, 1);
    assert_eq!(report.keys.len(), 1, "the allowed key is no key of the report");
    let entry = &report.keys[0];
    assert_eq!((entry.rules.as_slice(), entry.in_head), (&[ASSET.to_string()][..], None));
    assert_eq!(entry.findings, vec![report.findings[0].fingerprint.clone()]);
    assert_eq!(
        report.errors.iter().map(|e| (e.path.clone(), e.message.clone())).collect::<Vec<_>>(),
        vec![(dead.clone(), "connection refused".to_string())]
    );
    assert_eq!(
        run.stderr(),
        format!("{PARTIAL_1}pkscan: cannot fetch {dead}: connection refused\n")
    );
    assert_eq!(report.summary.urls_fetched, Some(2));
}

#[test]
fn urls_from_stdin_with_headers_at_depth_zero() {
    let secret_header = "s3cr3t-preview-value";
    let site = Server::start(
        "127.0.0.1",
        routes(vec![
            ("/", ok("text/html", "<script src=/a.js></script><a href=/about>a</a>")),
            ("/landing", ok("text/html", "<script src=/a.js></script>")),
            ("/a.js", ok("application/javascript", format!("k = '{}'", key(30)))),
            ("/about", ok("text/html", key(31))),
        ]),
    );
    let list = format!(
        "{}\n# a comment\n\n  {}  \n{}\n",
        site.url("/"),
        site.url("/landing"),
        site.url("/nothing")
    );
    let header = format!("X-Preview-Token: {secret_header}");
    let (run, _) = pkscan(
        &[
            "url",
            "-",
            "--depth",
            "0",
            "--header",
            &header,
            "--user-agent",
            "audit/1",
            "--format",
            "json",
        ],
        &list,
    );
    run.expect_code(2);
    let report = run.json();
    assert_eq!(report.places(), vec![(site.url("/a.js"), 1, 6, ASSET.to_string())]);
    let mut targets = site.targets();
    targets.sort();
    assert_eq!(targets, vec!["/", "/a.js", "/landing", "/nothing"]);
    let log = site.log.lock().unwrap().clone();
    for request in &log {
        assert!(request.headers.contains(&("x-preview-token".into(), secret_header.into())));
        assert!(request.headers.contains(&("user-agent".into(), "audit/1".into())));
    }
    assert!(!run.stdout().contains(secret_header) && !run.stderr().contains(secret_header));
    assert_eq!(
        run.stderr(),
        format!("{PARTIAL_1}pkscan: cannot fetch {}: HTTP 404\n", site.url("/nothing"))
    );
}

#[test]
fn a_bad_header_is_refused_without_showing_its_value() {
    let (run, _) = pkscan(&["url", "http://127.0.0.1:1/", "--header", "X-Token: abc\u{7f}def"], "");
    run.expect_code(2);
    assert!(!run.stderr().contains("abc"), "{}", run.stderr());
    assert!(run.stderr().contains("X-Token"), "{}", run.stderr());
}

#[test]
fn requests_and_pages_are_capped() {
    let index = "<a href=/p1>1</a><a href=/p2>2</a><a href=/p3>3</a>\
                 <script src=/s1.js></script><script src=/s2.js></script>";
    let site = Server::start(
        "127.0.0.1",
        routes(vec![
            ("/", ok("text/html", index)),
            ("/p1", ok("text/html", "<p>1</p>")),
            ("/s1.js", ok("text/javascript", "1")),
            ("/s2.js", ok("text/javascript", "2")),
        ]),
    );
    let (run, _) = pkscan(
        &[
            "url",
            &site.url("/"),
            "--max-pages",
            "2",
            "--max-requests",
            "3",
            "--concurrency",
            "1",
            "--format",
            "json",
        ],
        "",
    );
    run.expect_code(0);
    let report = run.json();
    assert_eq!(site.targets().len(), 3, "{:?}", site.targets());
    assert_eq!(site.targets()[0], "/");
    assert_eq!(report.summary.urls_fetched, Some(3));
    let messages: Vec<_> =
        report.errors.iter().map(|e| (e.path.clone(), e.message.clone())).collect();
    assert_eq!(
        messages,
        vec![
            (site.url("/"), "--max-pages 2 reached: 2 more pages were not fetched".to_string()),
            (site.url("/"), "--max-requests 3 reached: 1 more URLs were not requested".to_string()),
        ]
    );
    // /p2 and /p3 over the page cap, one URL over the request cap.
    assert_eq!(report.summary.urls_skipped, Some(3));
}

#[test]
fn redirects_leave_the_scope_only_with_allow_host_and_keys_never_leave() {
    let partner = Server::start(
        "127.0.0.2",
        routes(vec![("/", ok("text/html", format!("<p>{}</p>", key(40))))]),
    );
    let site = Server::start(
        "127.0.0.1",
        routes(vec![
            ("/go", redirect(302, &partner.url("/"))),
            ("/k", redirect(302, &format!("/track?company_id={}", key(41)))),
        ]),
    );
    let with_key = site.url(&format!("/x?company_id={}", key(42)));
    let (run, _) =
        pkscan(&["url", &site.url("/go"), &site.url("/k"), &with_key, "--format", "json"], "");
    run.expect_code(2);
    let stderr = run.stderr();
    let partner_host = partner.addr.to_string();
    assert!(
        stderr.contains(&format!(
            "pkscan: cannot fetch {}: HTTP 302 redirect to {}, which is out of scope: not requested; add --allow-host {partner_host} to follow it\n",
            site.url("/go"),
            partner.url("/")
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!(
        "pkscan: cannot fetch {}: HTTP 302 redirect to a URL that holds a private key: not requested\n",
        site.url("/k")
    )), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "pkscan: cannot fetch http://{}/…: not requested: the URL holds a private key",
            site.addr
        )),
        "{stderr}"
    );
    for k in [key(41), key(42)] {
        assert!(!stderr.contains(&k) && !run.stdout().contains(&k));
    }
    let mut targets = site.targets();
    targets.sort();
    assert_eq!(targets, vec!["/go", "/k"]);
    assert_eq!(partner.targets(), Vec::<String>::new());

    let (run, _) =
        pkscan(&["url", &site.url("/go"), "--allow-host", &partner_host, "--format", "json"], "");
    run.expect_code(1);
    assert_eq!(run.json().places(), vec![(partner.url("/"), 1, 4, ASSET.to_string())]);
    assert_eq!(partner.targets(), vec!["/"]);
}

#[test]
fn sarif_names_the_absolute_url() {
    let site = Server::start(
        "127.0.0.1",
        routes(vec![("/app.js?v=2", ok("text/javascript", format!("\nvar k='{}'", key(50))))]),
    );
    let (run, _) = pkscan(&["url", &site.url("/app.js?v=2#top"), "--format", "sarif"], "");
    run.expect_code(1);
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let location = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"], serde_json::json!({ "uri": site.url("/app.js?v=2") }));
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(location["region"]["startColumn"], 8);
}

#[test]
fn the_library_audits_a_site_too() {
    let site = Server::start(
        "127.0.0.1",
        routes(vec![("/", ok("text/html", format!("<i>{}</i>", key(60))))]),
    );
    let urls = pkscan::UrlOptions { urls: vec![site.url("/")], ..pkscan::UrlOptions::default() };
    let scan = pkscan::scan_urls(&pkscan::Options::default(), &urls).unwrap();
    assert!(scan.unreachable.is_empty());
    let found: Vec<_> = scan
        .report
        .findings
        .iter()
        .map(|f| (f.path.clone(), f.line, f.column, f.rule_id.clone()))
        .collect();
    assert_eq!(found, vec![(site.url("/"), 1, 4, ASSET.to_string())]);
    assert_eq!(scan.report.summary.urls_fetched, Some(1));
}

#[test]
fn the_text_report_counts_requested_and_skipped_urls() {
    let site = Server::start(
        "127.0.0.1",
        routes(vec![(
            "/",
            ok("text/html", format!("<a href=https://elsewhere.example/>x</a>\n{}\n", key(70))),
        )]),
    );
    let (run, _) = pkscan(&["url", &site.url("/"), "--color", "never"], "");
    run.expect_code(1);
    let stdout = run.stdout();
    let summary = stdout.lines().last().unwrap();
    assert!(
        summary.starts_with("1 finding (1 critical) · 1 file, ")
            && summary.ends_with(" · 1 URL requested, 1 skipped"),
        "{summary}"
    );
    assert!(
        stdout.starts_with(&format!("{}\n  2:1  CRITICAL  {ASSET}  pk_", site.url("/"))),
        "{stdout}"
    );
}

#[test]
fn the_html_report_names_the_site_and_shows_urls_as_text() {
    let k = key(71);
    let site = Server::start(
        "127.0.0.1",
        routes(vec![
            ("/", ok("text/html", "<script src=\"/app.js?v=<2>\"></script>\n")),
            ("/app.js?v=%3C2%3E", ok("text/javascript", format!("var k='{k}';\n"))),
        ]),
    );
    let (run, _) = pkscan(&["url", &site.url("/"), "--format", "html"], "");
    let page = run.expect_code(1).stdout();
    crate::html::assert_self_contained(&page);
    assert!(!page.contains(&k[3..]), "no full key");
    for expected in [
        format!("<p class=\"subject\">the site at {}</p>", site.url("/")),
        format!("<td class=\"path\">{}</td>", site.url("/app.js?v=%3C2%3E")),
        "<p class=\"exposure\">Served by the site as fetched.".to_string(),
        "2 URLs requested, 0 skipped".to_string(),
    ] {
        assert!(page.contains(&expected), "{expected}\n--- in\n{page}");
    }
    assert_eq!(page.matches("<article class=\"card ").count(), 1);
}

/// Routes serving a committed build the way its framework's server would: `pages` maps a
/// URL path to a file below `root`; every other file below `root/assets_dir` is served at
/// `prefix` + its path there.
fn build_routes(
    root: &str,
    pages: &[(&str, &str)],
    assets_dir: &str,
    prefix: &str,
) -> HashMap<String, Reply> {
    let root = crate::project_root().join(root);
    let content_type = |path: &str| match path.rsplit_once('.').map_or("", |(_, e)| e) {
        "html" => "text/html; charset=utf-8",
        "js" => "application/javascript",
        "css" => "text/css",
        "map" | "json" => "application/json",
        _ => "application/octet-stream",
    };
    let mut routes = HashMap::new();
    for (url_path, file) in pages {
        let body = std::fs::read(root.join(file)).unwrap();
        routes.insert(url_path.to_string(), ok(content_type(file), body));
    }
    let assets = root.join(assets_dir);
    let mut stack = vec![assets.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let below = path.strip_prefix(&assets).unwrap().to_str().unwrap().to_string();
            let body = std::fs::read(&path).unwrap();
            routes.insert(format!("{prefix}{below}"), ok(content_type(&below), body));
        }
    }
    routes
}

fn carries_key_shape(target: &str) -> bool {
    let bytes = target.as_bytes();
    target.match_indices("pk_").any(|(at, _)| {
        bytes[at + 3..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count()
            >= 34
    })
}

#[test]
fn the_next_build_is_followed_through_its_manifest_and_chunk_map_to_every_key() {
    let routes = build_routes(
        "fixtures/js/next-shop/.next",
        &[
            ("/", "server/pages/index.html"),
            ("/products/linen-shirt", "server/pages/products/[handle].html"),
        ],
        "static",
        "/_next/static/",
    );
    let site = Server::start("127.0.0.1", routes);
    let (run, _) = pkscan(&["url", &site.url("/"), "--format", "json"], "");
    run.expect_code(1);
    let report = run.json();
    let chunks = site.url("/_next/static/chunks/");
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            let source = f.original.as_ref().map(|o| {
                format!("{}:{}:{}", o["source"].as_str().unwrap(), o["line"], o["column"])
            });
            (f.path.replace(&chunks, ""), f.rule_id.as_str(), source)
        })
        .collect();
    let src = |s: &str| Some(format!("webpack://_N_E/./{s}"));
    assert_eq!(
        got,
        vec![
            (
                "614.c7a571e1163262ae.js".into(),
                "klaviyo-private-key-in-public-asset",
                src("components/Newsletter.tsx:9:24")
            ),
            (
                "614.c7a571e1163262ae.js.map".into(),
                "klaviyo-private-key-in-public-asset",
                src("components/Newsletter.tsx:9:41")
            ),
            (
                "pages/_app-7d2f50b419c19413.js".into(),
                "klaviyo-private-key-as-company-id",
                src("components/KlaviyoScript.tsx:4:28")
            ),
            (
                "pages/_app-7d2f50b419c19413.js.map".into(),
                "klaviyo-private-key-as-company-id",
                src("components/KlaviyoScript.tsx:4:29")
            ),
            (
                "pages/products/[handle]-03738e8dfe0e180c.js".into(),
                "klaviyo-private-key-as-token",
                src("pages/products/[handle].tsx:8:14")
            ),
        ]
    );
    // The vendor chunks are left out of the fixture (see fixtures/js/build.sh).
    let errors: Vec<_> =
        report.errors.iter().map(|e| (e.path.replace(&chunks, ""), e.message.as_str())).collect();
    assert_eq!(
        errors,
        vec![
            ("framework-e9c2361246278a7b.js".to_string(), "HTTP 404"),
            ("main-2f95a61e3295840d.js".to_string(), "HTTP 404"),
            ("polyfills-42372ed130431b0a.js".to_string(), "HTTP 404"),
        ]
    );
    let targets = site.targets();
    assert!(targets.iter().all(|t| !carries_key_shape(t)), "{targets:?}");
    let mut unique = targets.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), targets.len(), "each URL once: {targets:?}");
    // Off scope, so never requested: the loader, named in the _app chunk.
    let skipped = "https://static.klaviyo.com/onsite/js/klaviyo.js?company_id=".to_string();
    assert_eq!(report.skipped_urls, Some(vec![skipped]));
    assert_eq!(report.summary.urls_skipped, Some(1));
}

#[test]
fn the_vite_build_gives_its_keys_with_their_original_lines() {
    let routes =
        build_routes("fixtures/js/vite-shop/dist", &[("/", "index.html")], "assets", "/assets/");
    let site = Server::start("127.0.0.1", routes);
    let (run, _) = pkscan(&["url", &site.url("/"), "--format", "json"], "");
    run.expect_code(1);
    let report = run.json();
    let assets = site.url("/assets/");
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            let o = f.original.as_ref().unwrap();
            let place = format!("{}:{}:{}", o["source"].as_str().unwrap(), o["line"], o["column"]);
            (f.path.replace(&assets, ""), f.rule_id.as_str(), place)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "index-BfM_ion2.js".into(),
                "klaviyo-private-key-as-company-id",
                "../../src/klaviyo.js:4:11".into()
            ),
            (
                "index-BfM_ion2.js".into(),
                "klaviyo-private-key-in-public-asset",
                "../../src/profile.js:2:25".into()
            ),
            (
                "index-BfM_ion2.js.map".into(),
                "klaviyo-private-key-in-public-asset",
                "../../src/profile.js:2:26".into()
            ),
        ]
    );
    assert_eq!(report.errors, vec![]);
    assert!(site.targets().iter().all(|t| !carries_key_shape(t)), "{:?}", site.targets());
}
