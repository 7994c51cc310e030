//! Every cap on decoding, and the reader that enforces them.
//!
//! Decompressors and archive members are read through [`Bounded`], which counts what it
//! yields against the member, the top-level file and the compression ratio, turns a hit
//! or a decoder error into a clean end of stream, and remembers why it stopped. The
//! scanner therefore scans everything that could be read and reports the rest as one
//! `errors` entry, in bounded memory whatever the input claims about itself.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

/// Caps on decoding, so no input can make a scan unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes per archive member or compressed stream (default 256 MiB).
    pub max_member_bytes: u64,
    /// Decompressed bytes per top-level file, all its members together (default 1 GiB).
    pub max_file_bytes: u64,
    /// Largest compression ratio accepted once past `ratio_floor` bytes (default 100).
    pub max_ratio: u64,
    /// Output size below which any ratio is accepted (default 1 MiB).
    pub ratio_floor: u64,
    /// Containers and compression inside each other (default 4).
    pub max_depth: u32,
    /// Members per archive (default 100,000).
    pub max_members: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_member_bytes: 256 << 20,
            max_file_bytes: 1 << 30,
            max_ratio: 100,
            ratio_floor: 1 << 20,
            max_depth: 4,
            max_members: 100_000,
        }
    }
}

/// Why a decoded stream ended before its end: a limit, or input that is not what it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    MemberBytes(u64),
    FileBytes(u64),
    Ratio(u64),
    Depth(u32),
    Members(u64),
    Corrupt(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::MemberBytes(max) => write!(
                f,
                "limit hit: more than {} decompressed (--max-member-size); the rest was not scanned",
                size(*max)
            ),
            Stop::FileBytes(max) => write!(
                f,
                "limit hit: more than {} decompressed for this file (--max-total-size); the rest \
                 was not scanned",
                size(*max)
            ),
            Stop::Ratio(max) => write!(
                f,
                "limit hit: compression ratio over {max}:1 (--max-ratio), likely a decompression \
                 bomb; the rest was not scanned"
            ),
            Stop::Depth(max) => write!(
                f,
                "limit hit: nested more than {max} layers deep (--max-depth); scanned as stored"
            ),
            Stop::Members(max) => write!(
                f,
                "limit hit: more than {max} members (--max-members); the rest were not scanned"
            ),
            Stop::Corrupt(what) => f.write_str(what),
        }
    }
}

/// `256 MiB`, `1 GiB`, or plain bytes when not a round number.
pub(crate) fn size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// Decompressed bytes left for one top-level file, shared by all its layers and members.
#[derive(Debug)]
pub(crate) struct Budget {
    left: Cell<u64>,
    max: u64,
}

impl Budget {
    pub(crate) fn new(max: u64) -> Budget {
        Budget { left: Cell::new(max), max }
    }

    pub(crate) fn is_spent(&self) -> bool {
        self.left.get() == 0
    }
}

/// What a decoded stream's ratio is measured against.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// No compression here (tar members): no ratio check.
    Unmeasured,
    /// The compressed size a container states for the member.
    Known(u64),
    /// Compressed bytes consumed so far, counted by a [`Counting`] reader below the decoder
    /// (minus what it had counted when this stream began).
    Counted(Rc<Cell<u64>>, u64),
}

/// A reader that counts the bytes read through it into a shared cell.
pub(crate) struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Counting<R> {
    pub(crate) fn new(inner: R) -> (Counting<R>, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (Counting { inner, count: Rc::clone(&count) }, count)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// A decoded stream under the limits. Never returns an error: a limit hit or a decoder
/// error ends the stream, and [`Bounded::stop`] says why.
pub(crate) struct Bounded<'a, R> {
    inner: R,
    limits: &'a Limits,
    budget: &'a Budget,
    input: Input,
    produced: u64,
    stop: Option<Stop>,
    /// What a decoder error is reported as (`corrupt gzip stream`).
    what: &'static str,
}

impl<'a, R: Read> Bounded<'a, R> {
    pub(crate) fn new(
        inner: R,
        what: &'static str,
        input: Input,
        limits: &'a Limits,
        budget: &'a Budget,
    ) -> Bounded<'a, R> {
        Bounded { inner, limits, budget, input, produced: 0, stop: None, what }
    }

    /// Why the stream ended early, if it did.
    #[cfg(test)]
    pub(crate) fn stop(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    pub(crate) fn into_stop(self) -> Option<Stop> {
        self.stop
    }

    fn allowed(&self) -> u64 {
        let member_left = self.limits.max_member_bytes.saturating_sub(self.produced);
        member_left.min(self.budget.left.get())
    }

    /// At a cap: is there more? One byte is read to tell a stream that ends exactly at the
    /// cap from one that goes on.
    fn at_cap(&mut self) {
        let mut probe = [0u8; 1];
        match self.read_inner(&mut probe) {
            Ok(0) | Err(_) => {}
            Ok(_) => {
                self.stop = Some(if self.limits.max_member_bytes <= self.produced {
                    Stop::MemberBytes(self.limits.max_member_bytes)
                } else {
                    Stop::FileBytes(self.budget.max)
                });
            }
        }
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.stop = Some(Stop::Corrupt(format!("{}: {}", self.what, describe(&e))));
                    return Err(e);
                }
                ok => return ok,
            }
        }
    }

    fn check_ratio(&mut self) {
        let input = match &self.input {
            Input::Unmeasured => return,
            Input::Known(n) => *n,
            Input::Counted(count, base) => count.get().saturating_sub(*base),
        };
        if self.produced > self.limits.ratio_floor
            && self.produced > input.saturating_mul(self.limits.max_ratio)
        {
            self.stop = Some(Stop::Ratio(self.limits.max_ratio));
        }
    }
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.is_some() || buf.is_empty() {
            return Ok(0);
        }
        let allowed = self.allowed();
        if allowed == 0 {
            self.at_cap();
            return Ok(0);
        }
        let len = buf.len().min(usize::try_from(allowed).unwrap_or(usize::MAX));
        let n = self.read_inner(&mut buf[..len]).unwrap_or(0);
        self.produced += n as u64;
        self.budget.left.set(self.budget.left.get().saturating_sub(n as u64));
        self.check_ratio();
        Ok(n)
    }
}

pub(crate) use crate::sanitize::describe;

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(reader: &mut impl Read) -> u64 {
        io::copy(reader, &mut io::sink()).unwrap()
    }

    #[test]
    fn member_cap_stops_and_says_so_but_an_exact_fit_does_not() {
        let limits = Limits { max_member_bytes: 10, ..Limits::default() };
        let budget = Budget::new(1 << 20);
        let data = [7u8; 11];
        let mut over = Bounded::new(&data[..], "x", Input::Unmeasured, &limits, &budget);
        assert_eq!(read_all(&mut over), 10);
        assert_eq!(over.stop(), Some(&Stop::MemberBytes(10)));
        let mut exact = Bounded::new(&data[..10], "x", Input::Unmeasured, &limits, &budget);
        assert_eq!(read_all(&mut exact), 10);
        assert_eq!(exact.stop(), None);
    }

    #[test]
    fn the_file_budget_is_shared_between_members() {
        let limits = Limits::default();
        let budget = Budget::new(15);
        let data = [7u8; 10];
        let mut first = Bounded::new(&data[..], "x", Input::Unmeasured, &limits, &budget);
        assert_eq!(read_all(&mut first), 10);
        let mut second = Bounded::new(&data[..], "x", Input::Unmeasured, &limits, &budget);
        assert_eq!(read_all(&mut second), 5);
        assert_eq!(second.stop(), Some(&Stop::FileBytes(15)));
        assert!(budget.is_spent());
    }

    #[test]
    fn ratio_counts_only_past_the_floor() {
        let limits = Limits { ratio_floor: 100, max_ratio: 10, ..Limits::default() };
        let budget = Budget::new(1 << 20);
        let data = [0u8; 1000];
        let mut small = Bounded::new(&data[..100], "x", Input::Known(1), &limits, &budget);
        assert_eq!(read_all(&mut small), 100);
        assert_eq!(small.stop(), None);
        let mut bomb = Bounded::new(&data[..], "x", Input::Known(5), &limits, &budget);
        read_all(&mut bomb);
        assert_eq!(bomb.stop(), Some(&Stop::Ratio(10)));
    }

    #[test]
    fn decoder_errors_end_the_stream_cleanly() {
        struct Broken(bool);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "bad block"));
                }
                buf[0] = b'a';
                Ok(1)
            }
        }
        let limits = Limits::default();
        let budget = Budget::new(1 << 20);
        let mut reader =
            Bounded::new(Broken(false), "corrupt gzip stream", Input::Unmeasured, &limits, &budget);
        assert_eq!(read_all(&mut reader), 1);
        assert_eq!(reader.stop(), Some(&Stop::Corrupt("corrupt gzip stream: bad block".into())));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(256 << 20), "256 MiB");
        assert_eq!(size(1 << 30), "1 GiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
