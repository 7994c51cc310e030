//! The detector and classifier on arbitrary bytes: no panic, and every candidate is a
//! key-shaped token inside the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pkscan::PathTraits;

fuzz_target!(|data: &[u8]| {
    let traits = PathTraits::of("dist/app.min.js");
    let mut out = Vec::new();
    pkscan::find_candidates(
        data,
        0,
        data.len(),
        |buf, s, e| traits.served || pkscan::is_on_minified_line(buf, s, e),
        &mut out,
    );
    for c in &out {
        assert!(c.start < c.end && c.end <= data.len());
        assert!(data[c.start..].starts_with(b"pk_"));
    }
});
