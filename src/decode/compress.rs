//! Compressed streams: gzip (by its magic bytes, whatever the name says; concatenated
//! members are one stream, as `gzip -d` reads them) and brotli (which has no magic, so by
//! the `.br` name, confirmed by decoding the first bytes: a `.br` file that is not brotli
//! is scanned as it is). Both are streamed under the limits; the path stays the file's,
//! and the layer goes into `decoded`.

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

use super::limits::{Bounded, Counting, Input};
use super::{View, Walk};
use crate::finding::Layer;

/// Bytes of a `.br` file decoded up front to tell brotli from a misnamed file.
const BROTLI_PROBE: usize = 64 << 10;
const BROTLI_BUFFER: usize = 64 << 10;

impl Walk<'_> {
    pub(super) fn gzip(&mut self, reader: &mut dyn Read, view: &View) -> io::Result<()> {
        let (counting, consumed) = Counting::new(reader);
        let decoder = MultiGzDecoder::new(counting);
        let input = Input::Counted(consumed, 0);
        let mut stream =
            Bounded::new(decoder, "corrupt gzip stream", input, self.limits, self.budget);
        let inner = view.decoded(Layer::Gzip, &[".gz", ".tgz"]);
        self.stream(&mut stream, &inner, None)?;
        self.stopped(view, stream.into_stop());
        Ok(())
    }

    pub(super) fn brotli(&mut self, mut reader: impl Read, view: &View) -> io::Result<()> {
        let mut probe = Vec::new();
        (&mut reader).take(BROTLI_PROBE as u64).read_to_end(&mut probe)?;
        let mut rest = io::Cursor::new(probe).chain(reader);
        if !is_brotli(rest.get_ref().0.get_ref()) {
            return self.visitor.leaf(&mut rest, view);
        }
        let (counting, consumed) = Counting::new(rest);
        let decoder = brotli::Decompressor::new(counting, BROTLI_BUFFER);
        let input = Input::Counted(consumed, 0);
        let mut stream =
            Bounded::new(decoder, "corrupt brotli stream", input, self.limits, self.budget);
        let inner = view.decoded(Layer::Brotli, &[".br"]);
        self.stream(&mut stream, &inner, None)?;
        self.stopped(view, stream.into_stop());
        Ok(())
    }
}

/// Does `probe` (the start of a file) decode as brotli as far as it goes?
fn is_brotli(probe: &[u8]) -> bool {
    /// Ends the input with a marker error, so "needs more input" is told from "invalid".
    struct ThenMore<'a>(&'a [u8]);
    impl Read for ThenMore<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::WouldBlock, "end of probe"));
            }
            let n = self.0.read(buf)?;
            Ok(n)
        }
    }
    let mut decoder = brotli::Decompressor::new(ThenMore(probe), 4096);
    let mut out = vec![0u8; 16 << 10];
    let mut produced = 0usize;
    loop {
        match decoder.read(&mut out) {
            Ok(0) => return true,
            Ok(n) => {
                produced += n;
                // The probe's worth of input decoded to something: long enough to trust.
                if produced > 4 * BROTLI_PROBE {
                    return true;
                }
            }
            Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn brotli_of(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        writer.write_all(data).unwrap();
        drop(writer);
        out
    }

    #[test]
    fn brotli_is_told_from_text_named_br() {
        let data = "const k = 1;\n".repeat(10_000);
        let compressed = brotli_of(data.as_bytes());
        assert!(is_brotli(&compressed));
        assert!(is_brotli(&compressed[..compressed.len() / 2]), "a truncated stream is brotli");
        assert!(!is_brotli(b"body { color: red }\n"));
        assert!(!is_brotli(data.as_bytes()));
    }
}
