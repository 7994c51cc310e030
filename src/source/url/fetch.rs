//! One HTTP request, bounded: a deadline for the whole exchange, a cap on the body, the
//! `Content-Encoding` undone, and no redirect followed (the crawler checks each hop's
//! target against the scope and the key rule before asking for it).
//!
//! The client is ureq with rustls (no OpenSSL) and the proxy variables of the
//! environment. Header values given with `--header` are sent, never written in a message.

use std::io::{self, BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use ureq::Agent;
use url::Url;

use super::UrlOptions;

/// What a request came back with.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A 3xx with the `Location` it names, not followed here.
    Redirect { status: u16, location: String },
    /// A 2xx and its (decoded, capped) body.
    Body(Fetched),
}

/// A body as served, after the HTTP `Content-Encoding` is undone.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    pub content_type: Option<String>,
    /// The `SourceMap` (or older `X-SourceMap`) header.
    pub source_map: Option<String>,
    pub body: Vec<u8>,
    /// Why the body is incomplete (truncated, timed out, a broken encoding), if it is.
    pub problem: Option<String>,
}

pub(crate) struct Client {
    agent: Agent,
    headers: Vec<(String, String)>,
    timeout: Duration,
    max_bytes: u64,
}

impl Client {
    pub(crate) fn new(opts: &UrlOptions) -> Client {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(opts.user_agent.as_str())
            .accept_encoding("gzip, deflate, br")
            // One budget for the whole exchange (connect, headers, body), so a server that
            // trickles bytes forever cannot hold a worker past it.
            .timeout_global(Some(opts.timeout))
            .max_idle_connections_per_host(opts.per_host_concurrency)
            .build();
        Client {
            agent: config.into(),
            headers: opts.headers.clone(),
            timeout: opts.timeout,
            max_bytes: opts.max_response_bytes,
        }
    }

    /// GETs `url` once. `Err` is the message of an `errors` entry (`HTTP 404`,
    /// `timed out after 20 s`, `connection refused`).
    pub(crate) fn get(&self, url: &Url) -> Result<Reply, String> {
        let started = Instant::now();
        let mut request = self.agent.get(url.as_str());
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.call().map_err(|e| self.describe(&e, started))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        if (300..400).contains(&status) {
            if let Some(location) = header("location") {
                return Ok(Reply::Redirect { status, location });
            }
        }
        if !(200..300).contains(&status) {
            return Err(format!("HTTP {status}"));
        }
        let mut fetched = Fetched {
            content_type: header("content-type"),
            source_map: header("sourcemap").or_else(|| header("x-sourcemap")),
            ..Fetched::default()
        };
        let encodings = header("content-encoding").unwrap_or_default();
        let raw = response.into_body().into_reader();
        let deadline = started + self.timeout;
        let reader = Deadline { inner: raw, deadline };
        let (mut reader, unknown) = decoders(Box::new(reader), &encodings);
        if let Some(name) = unknown {
            fetched.problem = Some(format!("unknown Content-Encoding {name:?}; scanned as served"));
        }
        let mut limited = (&mut reader).take(self.max_bytes.saturating_add(1));
        if let Err(err) = limited.read_to_end(&mut fetched.body) {
            fetched.problem = Some(self.describe_io(&err, started));
        }
        if fetched.body.len() as u64 > self.max_bytes {
            fetched.body.truncate(self.max_bytes as usize);
            fetched.problem = Some(format!(
                "truncated: larger than {} (--max-response-bytes); only the first part was scanned",
                format_bytes(self.max_bytes)
            ));
        }
        Ok(Reply::Body(fetched))
    }

    fn describe(&self, err: &ureq::Error, started: Instant) -> String {
        match err {
            ureq::Error::Timeout(_) => self.timed_out(),
            ureq::Error::Io(io) => self.describe_io(io, started),
            ureq::Error::HostNotFound => "host not found".into(),
            ureq::Error::ConnectionFailed => "connection failed".into(),
            ureq::Error::StatusCode(code) => format!("HTTP {code}"),
            ureq::Error::Tls(why) => format!("TLS error: {why}"),
            ureq::Error::Rustls(e) => format!("TLS error: {e}"),
            _ if started.elapsed() >= self.timeout => self.timed_out(),
            other => other.to_string(),
        }
    }

    fn describe_io(&self, err: &io::Error, started: Instant) -> String {
        if let Some(inner) = err.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
            return self.describe(inner, started);
        }
        match err.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.timed_out(),
            io::ErrorKind::ConnectionRefused => "connection refused".into(),
            io::ErrorKind::ConnectionReset => "connection reset by the server".into(),
            io::ErrorKind::UnexpectedEof => "connection closed before the body was complete".into(),
            _ if started.elapsed() >= self.timeout => self.timed_out(),
            _ => crate::sanitize::describe_io_error(err),
        }
    }

    fn timed_out(&self) -> String {
        format!("timed out after {}", format_duration(self.timeout))
    }
}

/// Fails a read once the request's deadline has passed, whatever the transport does.
struct Deadline<R> {
    inner: R,
    deadline: Instant,
}

impl<R: Read> Read for Deadline<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if Instant::now() >= self.deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "request deadline passed"));
        }
        self.inner.read(buf)
    }
}

/// The reader that undoes `Content-Encoding` (a list, applied in order, so undone last
/// first), and the first encoding it does not know, if any (then the rest is left as is).
fn decoders<'a>(
    mut reader: Box<dyn Read + 'a>,
    encodings: &str,
) -> (Box<dyn Read + 'a>, Option<String>) {
    let names: Vec<String> = encodings
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity")
        .collect();
    for name in names.iter().rev() {
        reader = match name.as_str() {
            "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            "br" => Box::new(brotli::Decompressor::new(reader, 64 << 10)),
            "deflate" => deflate(reader),
            other => return (reader, Some(other.to_string())),
        };
    }
    (reader, None)
}

/// HTTP's `deflate` is zlib-wrapped, but some servers send a raw deflate stream: the
/// zlib header (CMF/FLG, a multiple of 31) tells them apart.
fn deflate<'a>(reader: Box<dyn Read + 'a>) -> Box<dyn Read + 'a> {
    let mut buffered = BufReader::new(reader);
    let head = buffered.fill_buf().map(|b| b.get(..2).map(|h| [h[0], h[1]])).ok().flatten();
    let zlib = head.is_some_and(|[cmf, flg]| {
        cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
    });
    if zlib {
        Box::new(flate2::read::ZlibDecoder::new(buffered))
    } else {
        Box::new(flate2::read::DeflateDecoder::new(buffered))
    }
}

/// `20 s`, `1.5 s`, `250 ms`: as the user would have written the timeout.
pub(crate) fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d.as_secs() > 0 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// `32 MiB`, `1.5 KiB`, `100 bytes`.
pub(crate) fn format_bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size {
            return if n % size == 0 {
                format!("{} {unit}", n / size)
            } else {
                format!("{:.1} {unit}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn decode(encodings: &str, body: Vec<u8>) -> (Vec<u8>, Option<String>) {
        let (mut reader, unknown) = decoders(Box::new(io::Cursor::new(body)), encodings);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        (out, unknown)
    }

    #[test]
    fn content_encodings_are_undone_last_first() {
        let text = b"var k = 1;\n".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode("gzip", gz.clone()).0, text);
        let mut br = Vec::new();
        brotli::CompressorWriter::new(&mut br, 4096, 5, 22).write_all(&gz).unwrap();
        assert_eq!(decode("gzip, br", br).0, text);
        for raw in [false, true] {
            let mut out = Vec::new();
            if raw {
                let mut e =
                    flate2::write::DeflateEncoder::new(&mut out, flate2::Compression::fast());
                e.write_all(&text).unwrap();
                e.finish().unwrap();
            } else {
                let mut e = flate2::write::ZlibEncoder::new(&mut out, flate2::Compression::fast());
                e.write_all(&text).unwrap();
                e.finish().unwrap();
            }
            assert_eq!(decode("Deflate", out).0, text, "raw {raw}");
        }
        assert_eq!(decode("identity", text.clone()), (text.clone(), None));
        assert_eq!(decode("zstd", text.clone()), (text, Some("zstd".into())));
    }

    #[test]
    fn durations_and_sizes_read_naturally() {
        assert_eq!(format_duration(Duration::from_secs(20)), "20 s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(format_bytes(32 << 20), "32 MiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(100), "100 bytes");
    }
}
