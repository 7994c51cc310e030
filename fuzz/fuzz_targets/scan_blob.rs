//! The whole pipeline (decoding layers included) on arbitrary bytes under names that
//! select each decoder: no panic, no unbounded work, and a sorted report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pkscan::Options;

const NAMES: &[&str] = &[
    "dist/app.js",
    "a.js.gz",
    "a.js.br",
    "site.zip",
    "app.apk",
    "pkg.tgz",
    "pkg.tar",
    "a.txt",
    "a.map",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let name = NAMES[selector as usize % NAMES.len()];
    let mut opts = Options::default();
    opts.limits.max_member_bytes = 1 << 20;
    opts.limits.max_file_bytes = 4 << 20;
    let report = pkscan::scan_blob(&opts, name, bytes);
    for pair in report.findings.windows(2) {
        assert!(pair[0].sort_key() <= pair[1].sort_key());
    }
});
