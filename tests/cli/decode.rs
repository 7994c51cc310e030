//! Decoding layers: keys inside gzip and brotli files, zip-family and tar archives
//! (nested), base64 text, UTF-16 and giant minified lines, each asserted with its path,
//! line, column, rule and `decoded`; the limits (bombs), corrupt archives and
//! `--no-decode`. Every archive and stream is written here, by the test, from synthetic keys.

use std::io::Write;

use crate::{key, JsonReport, Tree};

/// A finding as the decoding tests check it.
type Place = (String, u64, u64, u64, String, Vec<String>);

fn places(report: &JsonReport) -> Vec<Place> {
    report
        .findings
        .iter()
        .map(|f| {
            (f.path.clone(), f.line, f.column, f.end_column, f.rule_id.clone(), f.decoded.clone())
        })
        .collect()
}

fn place(path: &str, line: u64, column: u64, rule: &str, decoded: &[&str]) -> Place {
    (
        path.to_string(),
        line,
        column,
        column + 37,
        format!("klaviyo-private-key{rule}"),
        decoded.iter().map(|s| s.to_string()).collect(),
    )
}

fn scan_json(tree: &Tree, extra: &[&str]) -> JsonReport {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    let run = tree.pkscan(&args);
    assert!(matches!(run.code(), 0 | 1), "exit {}\n{}", run.code(), run.stderr());
    run.json()
}

fn errors(report: &JsonReport) -> Vec<(String, String)> {
    report.errors.iter().map(|e| (e.path.clone(), e.message.clone())).collect()
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

pub(crate) fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
    writer.write_all(data).expect("brotli in memory");
    drop(writer);
    out
}

/// A zip of `(name, content)` members, deflated.
pub(crate) fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in members {
        writer.start_file(*name, options).expect("zip member");
        writer.write_all(content).expect("zip member");
    }
    writer.finish().expect("zip in memory").into_inner()
}

/// A ustar archive of `(name, content)` members.
pub(crate) fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in members {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, *content).expect("tar member");
    }
    builder.into_inner().expect("tar in memory")
}

pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let mut bits = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            bits |= u32::from(b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(bits >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xff, 0xfe];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

#[test]
fn gzip_files_keep_their_path_and_count_lines_in_the_decompressed_text() {
    let k = key(301);
    let js = format!("console.log(1);\nwindow.klaviyo = {{ companyId: \"{k}\" }};\n");
    let tree = Tree::new(&[]);
    tree.write("dist/main.js.gz", &gzip(js.as_bytes()));
    // A lying extension: gzip is recognised by its magic bytes.
    tree.write("server/config.txt", &gzip(format!("KEY={k}\n").as_bytes()));
    // A `.gz` that is not gzip is scanned as it is.
    tree.write("server/notes.gz", format!("key {k}\n").as_bytes());
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![
            place("dist/main.js.gz", 2, 32, "-as-company-id", &["gzip"]),
            place("server/config.txt", 1, 5, "", &["gzip"]),
            place("server/notes.gz", 1, 5, "", &[]),
        ]
    );
    assert_eq!(report.errors, vec![]);
}

#[test]
fn brotli_files_by_name_and_misnamed_ones_as_stored() {
    let k = key(302);
    let html = format!("<p>hi</p>\n<script src=\"//static.klaviyo.com/onsite/js/klaviyo.js?company_id={k}\"></script>\n");
    let tree = Tree::new(&[]);
    tree.write("site/index.html.br", &brotli(html.as_bytes()));
    tree.write("site/readme.br", format!("plain text {k}\n").as_bytes());
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![
            place("site/index.html.br", 2, 67, "-as-company-id", &["brotli"]),
            place("site/readme.br", 1, 12, "", &[]),
        ]
    );
}

#[test]
fn zip_members_are_named_outer_bang_inner_and_nest() {
    let k = key(303);
    let index = format!("<html>\n<script>\n_learnq.push(['account', '{k}']);\n</script>\n");
    let inner_js = format!("// lib\nconst apiKey = '{k}';\n");
    let jar = zip(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        ("c/d.js", inner_js.as_bytes()),
    ]);
    let outer = zip(&[("dist/index.html", index.as_bytes()), ("b.jar", &jar), ("empty/", b"")]);
    let tree = Tree::new(&[]);
    tree.write("release.zip", &outer);
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![
            place("release.zip!b.jar!c/d.js", 2, 17, "", &[]),
            place("release.zip!dist/index.html", 3, 27, "-as-account", &[]),
        ]
    );
    assert_eq!(report.errors, vec![]);
}

#[test]
fn app_package_members_are_public_assets_and_zips_are_known_by_magic() {
    let k = key(304);
    let config = format!("{{\n  \"sync\": \"{k}\"\n}}\n");
    let apk = zip(&[("assets/config.json", config.as_bytes())]);
    let tree = Tree::new(&[]);
    tree.write("out/app-release.apk", &apk);
    tree.write("backup/data.bin", &zip(&[("notes.txt", format!("{k}\n").as_bytes())]));
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![
            place("backup/data.bin!notes.txt", 1, 1, "", &[]),
            place("out/app-release.apk!assets/config.json", 2, 12, "-in-public-asset", &[]),
        ]
    );
}

#[test]
fn tarballs_plain_and_gzipped_count_the_compression_for_their_members() {
    let k = key(305);
    let index = format!("module.exports = {{\n  key: \"{k}\",\n}};\n");
    let tarball = tar(&[("package/package.json", b"{}\n"), ("package/index.js", index.as_bytes())]);
    let tree = Tree::new(&[]);
    tree.write("vendor/lib-1.0.0.tgz", &gzip(&tarball));
    tree.write("vendor/lib.tar", &tarball);
    // Compression inside a container, inside compression.
    let nested = tar(&[("static/app.js.gz", &gzip(index.as_bytes()))]);
    tree.write("site.tar.gz", &gzip(&nested));
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![
            place("site.tar.gz!static/app.js.gz", 2, 9, "-in-public-asset", &["gzip", "gzip"]),
            place("vendor/lib-1.0.0.tgz!package/index.js", 2, 9, "", &["gzip"]),
            place("vendor/lib.tar!package/index.js", 2, 9, "", &[]),
        ]
    );
    assert_eq!(report.errors, vec![]);
}

#[test]
fn base64_data_of_a_track_call_is_a_token_located_at_its_encoded_characters() {
    let k = key(306);
    let payload = format!(r#"{{"token":"{k}","event":"Started Checkout"}}"#);
    let data = base64(payload.as_bytes());
    let html = format!(
        "<html>\n<body>\n    <img src=\"https://a.klaviyo.com/api/track?data={data}\">\n</body>\n"
    );
    let tree = Tree::new(&[("checkout.html", html.as_str())]);
    let report = scan_json(&tree, &[]);
    // 51 characters precede the run; the key's bytes 10..47 are carried by characters
    // 13..63 of it.
    let mut expected = place("checkout.html", 3, 65, "-as-token", &["base64"]);
    expected.3 = 115;
    assert_eq!(places(&report), vec![expected]);
    let text = tree.pkscan(&["scan", "--color", "never"]).stdout();
    assert!(text.contains("found after base64"), "{text}");
}

#[test]
fn percent_encoded_and_url_safe_data_parameters() {
    let k = key(307);
    let payload = format!(r#"{{"token": "{k}", "properties": {{"$email": "a@b.c"}}}}"#);
    let data = base64(payload.as_bytes());
    let escaped = data.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let url_safe = data.replace('+', "-").replace('/', "_").replace('=', "");
    let js = format!(
        "fetch('https://a.klaviyo.com/api/identify?data={escaped}');\nnew Image().src = '/api/track?data={url_safe}';\n"
    );
    let tree = Tree::new(&[("server/legacy.js", js.as_str())]);
    let report = scan_json(&tree, &[]);
    let rules: Vec<_> = report.findings.iter().map(|f| (f.line, f.rule_id.as_str())).collect();
    assert_eq!(
        rules,
        vec![(1, "klaviyo-private-key-as-token"), (2, "klaviyo-private-key-as-token")]
    );
    assert!(report.findings.iter().all(|f| f.decoded == ["base64"]));
}

#[test]
fn a_gzip_bomb_inside_base64_is_an_error_and_the_key_before_it_is_found() {
    let mut payload = format!("{{\"token\": \"{}\"}}\n", key(41)).into_bytes();
    payload.resize(40 << 20, b' ');
    let tree =
        Tree::new(&[("dist/app.js", &format!("var blob = \"{}\";\n", base64(&gzip(&payload))))]);
    let report = scan_json(&tree, &[]);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].decoded, vec!["base64", "gzip"]);
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "dist/app.js");
    assert!(errors[0].1.starts_with("a gzip stream inside base64: limit hit"), "{errors:?}");
}

#[test]
fn base64_noise_and_hex_give_nothing() {
    let mut noise = String::new();
    let mut state = 0x1234_5678_9abc_def0u64;
    for _ in 0..50_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            [(state % 64) as usize];
        noise.push(c as char);
    }
    let hex: String = (0..40_000u64).map(|i| format!("{:x}", (i * 7919) % 16)).collect();
    let image = format!("background:url(data:image/png;base64,{noise}cGtfBrXwa1H4sI{noise})");
    let tree = Tree::new(&[("dist/app.css", image.as_str()), ("dist/sums.txt", hex.as_str())]);
    let report = scan_json(&tree, &[]);
    assert_eq!(report.findings, vec![]);
}

#[test]
fn utf16_text_is_located_in_decoded_code_points_without_the_mark() {
    let k = key(308);
    let text = format!("# é→ settings\r\ncompany_id = \"{k}\"\r\n");
    let tree = Tree::new(&[]);
    tree.write("config/settings.ini", &utf16le_with_bom(&text));
    // A header of binary noise, then a UTF-16 string table.
    let mut binary = vec![0x4d, 0x5a, 0x90, 0x00, 0x03];
    binary.extend((1..60u32).map(|i| (i * 37 % 251 + 1) as u8));
    binary.extend(format!("key={k}").encode_utf16().flat_map(u16::to_le_bytes));
    binary.extend([0, 0, 0x13, 0x37]);
    tree.write("bin/tool.exe", &binary);
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![
            // Stored UTF-16 inside a binary: columns are stored bytes, the key spans 74.
            (
                "bin/tool.exe".into(),
                1,
                73,
                147,
                "klaviyo-private-key".into(),
                vec!["utf-16".into()]
            ),
            place("config/settings.ini", 2, 15, "-as-company-id", &["utf-16"]),
        ]
    );
}

#[test]
fn no_decode_looks_only_at_stored_bytes() {
    let k = key(309);
    let tree = Tree::new(&[]);
    tree.write("a.js.gz", &gzip(format!("{k}\n").as_bytes()));
    tree.write("b.zip", &zip(&[("x.txt", format!("{k}\n").as_bytes())]));
    tree.write("c.txt", format!("data={}\n", base64(format!("k={k}").as_bytes())).as_bytes());
    tree.write("d.txt", &utf16le_with_bom(&format!("{k}\n")));
    tree.write("e.txt", format!("plain {k}\n").as_bytes());
    let report = scan_json(&tree, &["--no-decode"]);
    assert_eq!(places(&report), vec![place("e.txt", 1, 7, "", &[])]);
    let decoded = scan_json(&tree, &[]);
    assert_eq!(decoded.findings.len(), 5, "{:?}", places(&decoded));
}

#[test]
fn a_hit_fifteen_million_bytes_into_a_single_line_bundle_has_its_column() {
    let k = key(310);
    let mut bundle = "a=1;".repeat(3_750_000); // 15,000,000 bytes, one line
    bundle.push_str(&format!("var k=\"{k}\";"));
    bundle.push_str(&"b=2;".repeat(1_250_000));
    let tree = Tree::new(&[]);
    tree.write("web/app.bundle.js", bundle.as_bytes());
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![place("web/app.bundle.js", 1, 15_000_008, "-in-public-asset", &[])]
    );
}

/// A raw deflate stream of `mib` MiB of zeros, built from one compressed MiB repeated,
/// so a bomb of gigabytes costs the test kilobytes and milliseconds.
fn deflated_zeros(mib: usize) -> Vec<u8> {
    let mut compress = flate2::Compress::new(flate2::Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut block = Vec::with_capacity(8 << 10);
    compress.compress_vec(&zeros, &mut block, flate2::FlushCompress::Sync).expect("deflate");
    let mut out = Vec::with_capacity(block.len() * mib + 2);
    for _ in 0..mib {
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&[0x03, 0x00]); // a final, empty block
    out
}

/// A zip whose members are stored as given: `(name, method, data, claimed size)`.
fn raw_zip(members: &[(&str, u16, &[u8], u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, method, data, size) in members {
        let offset = out.len() as u32;
        // A bomb's checksum is never reached: the limit stops it first.
        let crc = match method {
            0 => {
                let mut crc = flate2::Crc::new();
                crc.update(data);
                crc.sum()
            }
            _ => 0,
        };
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend(sig.to_le_bytes());
            if central {
                h.extend(20u16.to_le_bytes());
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend(0u16.to_le_bytes()); // flags
            h.extend(method.to_le_bytes());
            h.extend([0u8; 4]); // time, date
            h.extend(crc.to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend(size.to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend([0u8; 6]); // comment length, disk, internal attributes
                h.extend(0u32.to_le_bytes()); // external attrs
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        directory.extend(header(0x0201_4b50, true));
    }
    let start = out.len() as u32;
    out.extend_from_slice(&directory);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((directory.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[test]
fn a_zip_bomb_stops_at_the_ratio_limit_and_names_the_member() {
    let k = key(311);
    let bomb = deflated_zeros(2048); // 2 GiB of zeros
    let readme = format!("key {k}\n");
    let zip_bytes = raw_zip(&[
        ("readme.txt", 0, readme.as_bytes(), readme.len() as u32),
        ("layer0.txt", 8, &bomb, 2 << 30),
    ]);
    let tree = Tree::new(&[]);
    tree.write("bomb.zip", &zip_bytes);
    let report = scan_json(&tree, &[]);
    assert_eq!(places(&report), vec![place("bomb.zip!readme.txt", 1, 5, "", &[])]);
    assert_eq!(
        errors(&report),
        vec![(
            "bomb.zip!layer0.txt".into(),
            "limit hit: compression ratio over 100:1 (--max-ratio), likely a decompression bomb; \
             the rest was not scanned"
                .into()
        )]
    );
}

#[test]
fn nested_bombs_stop_at_the_depth_limit() {
    let k = key(312);
    let leaf = format!("{k}\n");
    let mut archive = zip(&[("leaf.txt", leaf.as_bytes())]);
    for level in (0..5).rev() {
        let name = format!("l{level}.zip");
        archive = zip(&[(name.as_str(), &archive), ("copy.zip", &archive)]);
    }
    let tree = Tree::new(&[]);
    tree.write("42.zip", &archive);
    let report = scan_json(&tree, &["--max-depth", "3"]);
    assert_eq!(report.findings, vec![]);
    let errs = errors(&report);
    assert_eq!(errs.len(), 8, "{errs:?}");
    assert_eq!(
        errs[0],
        (
            "42.zip!copy.zip!copy.zip!copy.zip".into(),
            "limit hit: nested more than 3 layers deep (--max-depth); scanned as stored".into()
        )
    );
    let report = scan_json(&tree, &[]);
    assert_eq!(report.findings.len(), 0, "depth 6 is past the default 4 too");
    let report = scan_json(&tree, &["--max-depth", "6"]);
    assert_eq!(report.findings.len(), 32);
    assert_eq!(
        report.findings[0].path,
        "42.zip!copy.zip!copy.zip!copy.zip!copy.zip!copy.zip!leaf.txt"
    );
}

#[test]
fn a_ten_gigabyte_gzip_of_zeros_is_cut_short_and_reported() {
    let k = key(313);
    let mut member = gzip(format!("{k}\n").as_bytes());
    let zeros = gzip(&vec![0u8; 1 << 20]);
    for _ in 0..10 * 1024 {
        member.extend_from_slice(&zeros);
    }
    let tree = Tree::new(&[]);
    tree.write("logs/huge.log.gz", &member);
    let report = scan_json(&tree, &[]);
    assert_eq!(places(&report), vec![place("logs/huge.log.gz", 1, 1, "", &["gzip"])]);
    assert_eq!(
        errors(&report),
        vec![(
            "logs/huge.log.gz".into(),
            "limit hit: compression ratio over 100:1 (--max-ratio), likely a decompression bomb; \
             the rest was not scanned"
                .into()
        )]
    );
}

#[test]
fn size_and_member_limits_have_flags() {
    let k = key(314);
    let big = format!("{k}\n{}", "x".repeat(8 << 10));
    let members: Vec<(String, String)> =
        (0..5).map(|i| (format!("m{i}.txt"), format!("{k}\n"))).collect();
    let refs: Vec<(&str, &[u8])> =
        members.iter().map(|(n, c)| (n.as_str(), c.as_bytes())).collect();
    let tree = Tree::new(&[]);
    tree.write("big.gz", &gzip(big.as_bytes()));
    tree.write("many.zip", &zip(&refs));
    let report = scan_json(&tree, &["--max-member-size", "4KiB", "--max-members", "3"]);
    assert_eq!(
        places(&report),
        vec![
            place("big.gz", 1, 1, "", &["gzip"]),
            place("many.zip!m0.txt", 1, 1, "", &[]),
            place("many.zip!m1.txt", 1, 1, "", &[]),
            place("many.zip!m2.txt", 1, 1, "", &[]),
        ]
    );
    assert_eq!(
        errors(&report),
        vec![
            (
                "big.gz".into(),
                "limit hit: more than 4 KiB decompressed (--max-member-size); the rest was not \
                 scanned"
                    .into()
            ),
            (
                "many.zip".into(),
                "limit hit: more than 3 members (--max-members); the rest were not scanned".into()
            ),
        ]
    );
    let report = scan_json(&tree, &["--max-total-size", "6KiB"]);
    assert_eq!(
        errors(&report),
        vec![(
            "big.gz".into(),
            "limit hit: more than 6 KiB decompressed for this file (--max-total-size); the rest \
             was not scanned"
                .into()
        )]
    );
    let run = tree.pkscan(&["scan", "--max-member-size", "lots"]);
    run.expect_code(2);
    assert!(run.stderr().contains("--max-member-size"), "{}", run.stderr());

    // The same flags bound `pkscan git`, as its --help says.
    tree.git(&["init", "-q", "-b", "main"]);
    tree.git(&["add", "big.gz", "many.zip"]);
    tree.git(&["commit", "-q", "-m", "artefacts"]);
    let limited = ["git", "--format", "json", "--max-member-size", "4KiB", "--max-members", "3"];
    let report = tree.pkscan(&limited).expect_code(1).json();
    let messages: Vec<String> = errors(&report).into_iter().map(|(_, m)| m).collect();
    assert_eq!(
        messages,
        [
            "limit hit: more than 4 KiB decompressed (--max-member-size); the rest was not scanned",
            "limit hit: more than 3 members (--max-members); the rest were not scanned"
        ]
    );
}

#[test]
fn corrupt_and_truncated_containers_are_errors_and_what_was_readable_is_scanned() {
    let k = key(315);
    let first = format!("{k}\n");
    let whole = zip(&[("a.txt", first.as_bytes()), ("b.txt", b"second member\n")]);
    let cut_zip = &whole[..whole.len() - 40]; // the central directory is gone
    let text = format!("line one\n{k}\n{}", "filler line\n".repeat(20_000));
    let gz = gzip(text.as_bytes());
    let cut_gz = &gz[..gz.len() / 2];
    let tarball = tar(&[("pkg/a.js", first.as_bytes()), ("pkg/b.js", "x".repeat(4096).as_bytes())]);
    let cut_tar = &tarball[..1200];
    let tree = Tree::new(&[]);
    tree.write("cut.zip", cut_zip);
    tree.write("cut.log.gz", cut_gz);
    tree.write("cut.tar", cut_tar);
    tree.write("garbage.zip", b"PK\x03\x04 this is not really a zip archive at all");
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![
            place("cut.log.gz", 2, 1, "", &["gzip"]),
            place("cut.tar!pkg/a.js", 1, 1, "", &[]),
            place("cut.zip!a.txt", 1, 1, "", &[]),
        ]
    );
    let errs = errors(&report);
    let paths: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, vec!["cut.log.gz", "cut.tar", "cut.zip", "garbage.zip"]);
    assert!(errs[0].1.starts_with("corrupt gzip stream: "), "{errs:?}");
    assert!(errs[1].1.starts_with("corrupt tar archive: "), "{errs:?}");
    assert!(errs[2].1.starts_with("corrupt zip archive: "), "{errs:?}");
    assert!(errs[2].1.ends_with("2 members read from local headers"), "{errs:?}");
    assert!(errs[3].1.starts_with("corrupt zip archive: "), "{errs:?}");
}

#[test]
fn a_file_named_like_an_archive_that_is_not_one_is_scanned_as_text() {
    let k = key(316);
    let tree = Tree::new(&[("lib/fake.jar", &format!("just text named like a jar {k}\n"))]);
    let report = scan_json(&tree, &[]);
    assert_eq!(places(&report), vec![place("lib/fake.jar", 1, 28, "", &[])]);
    assert_eq!(report.errors, vec![]);
}

mod layer_stacks {
    //! A planted key, wrapped in a random stack of layers, is found at the right place with
    //! the right layers.

    use proptest::prelude::*;

    use super::{base64, brotli, gzip, tar, utf16le_with_bom, zip};
    use crate::{key, Tree};

    #[derive(Debug, Clone, Copy)]
    enum Text {
        Plain,
        Base64,
        Utf16,
    }

    #[derive(Debug, Clone, Copy)]
    enum Outer {
        Gzip,
        Brotli,
        Zip,
        Tar,
    }

    fn text_layer() -> impl Strategy<Value = Text> {
        prop_oneof![Just(Text::Plain), Just(Text::Base64), Just(Text::Utf16)]
    }

    fn outer_layer() -> impl Strategy<Value = Outer> {
        prop_oneof![Just(Outer::Gzip), Just(Outer::Brotli), Just(Outer::Zip), Just(Outer::Tar)]
    }

    /// Expected (line, column, end_column) of `needle` in `text`, in code points.
    fn position(text: &str, at: usize, len: usize) -> (u64, u64, u64) {
        let before = &text[..at];
        let line = before.matches('\n').count() as u64 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() as u64 + 1;
        (line, column, column + len as u64)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn a_planted_key_is_found_through_any_stack(
            seed in 1_000u64..2_000,
            lines in prop::collection::vec("[a-z0-9 .,;(){}+-]{0,70}", 0..40),
            tail in "[a-z0-9 .,;(){}+-]{0,70}",
            text_layer in text_layer(),
            outers in prop::collection::vec(outer_layer(), 0..4),
        ) {
            let k = key(seed);
            let mut text = lines.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str("x = \"");
            let at = text.len();
            text.push_str(&k);
            text.push_str("\"; ");
            text.push_str(&tail);
            text.push('\n');

            let (mut bytes, (line, column, end_column), mut decoded) = match text_layer {
                Text::Plain => (text.clone().into_bytes(), position(&text, at, 37), vec![]),
                Text::Utf16 => (utf16le_with_bom(&text), position(&text, at, 37), vec!["utf-16"]),
                Text::Base64 => {
                    let first = 4 * (at / 3) + at % 3;
                    let last = at + 36;
                    let end = 4 * (last / 3) + last % 3 + 2;
                    let stored = format!("blob: {}\n", base64(text.as_bytes()));
                    (stored.into_bytes(), (1, 7 + first as u64, 7 + end as u64), vec!["base64"])
                }
            };
            let mut segments = vec!["f.txt".to_string()];
            for (n, outer) in outers.iter().enumerate() {
                match outer {
                    Outer::Gzip => {
                        bytes = gzip(&bytes);
                        segments[0].push_str(".gz");
                        decoded.insert(0, "gzip");
                    }
                    Outer::Brotli => {
                        bytes = brotli(&bytes);
                        segments[0].push_str(".br");
                        decoded.insert(0, "brotli");
                    }
                    Outer::Zip => {
                        bytes = zip(&[(segments[0].as_str(), &bytes)]);
                        segments.insert(0, format!("a{n}.zip"));
                    }
                    Outer::Tar => {
                        bytes = tar(&[(segments[0].as_str(), &bytes)]);
                        segments.insert(0, format!("t{n}.tar"));
                    }
                }
            }
            let tree = Tree::new(&[]);
            tree.write(&format!("data/{}", segments[0]), &bytes);
            let report = super::scan_json(&tree, &[]);
            let expected = vec![(
                format!("data/{}", segments.join("!")),
                line,
                column,
                end_column,
                "klaviyo-private-key".to_string(),
                decoded.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )];
            prop_assert_eq!(super::places(&report), expected);
            prop_assert_eq!(report.errors.len(), 0);
        }
    }
}

#[test]
fn history_sees_through_the_same_layers() {
    let k = key(317);
    let tree = Tree::new(&[]);
    tree.write("dist/app.js.gz", &gzip(format!("var k = \"{k}\";\n").as_bytes()));
    tree.write(
        "release.zip",
        &zip(&[("config/app.json", format!("{{\"k\": \"{k}\"}}\n").as_bytes())]),
    );
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com"])
            .args(args)
            .current_dir(tree.path())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "release"]);
    let run = tree.pkscan(&["git", "--format", "json"]);
    run.expect_code(1);
    let found: Vec<_> = run
        .json()
        .findings
        .iter()
        .map(|f| (f.path.clone(), f.line, f.column, f.rule_id.clone(), f.decoded.clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "dist/app.js.gz".to_string(),
                1,
                10,
                "klaviyo-private-key-in-public-asset".to_string(),
                vec!["gzip".to_string()]
            ),
            (
                "release.zip!config/app.json".to_string(),
                1,
                8,
                "klaviyo-private-key".to_string(),
                vec![]
            ),
        ]
    );
}

#[test]
fn kotlin_in_an_archived_module_looks_for_its_manifest_among_the_members() {
    let manifest: &[u8] = b"<manifest package=\"com.acme.sample\"/>\n";
    let app = format!("class App {{\n    val apiKey = \"{}\"\n}}\n", key(1830));
    let server = format!("class Sync {{\n    val apiKey = \"{}\"\n}}\n", key(1831));
    let (app, server) = (app.as_bytes(), server.as_bytes());
    let tree = Tree::new(&[]);
    // A zip is read through its directory: the manifest counts wherever it is stored.
    tree.write(
        "module.zip",
        &zip(&[
            ("sample/src/main/java/App.kt", app),
            ("sample/src/main/AndroidManifest.xml", manifest),
            ("server/Sync.kt", server),
        ]),
    );
    // A tar is read once, in order: only a manifest stored before the code counts.
    tree.write(
        "first.tar",
        &tar(&[
            ("sample/src/main/AndroidManifest.xml", manifest),
            ("sample/src/main/java/App.kt", app),
        ]),
    );
    tree.write(
        "last.tar",
        &tar(&[
            ("sample/src/main/java/App.kt", app),
            ("sample/src/main/AndroidManifest.xml", manifest),
        ]),
    );
    let report = scan_json(&tree, &[]);
    assert_eq!(
        places(&report),
        vec![
            place("first.tar!sample/src/main/java/App.kt", 2, 19, "-in-public-asset", &[]),
            place("last.tar!sample/src/main/java/App.kt", 2, 19, "", &[]),
            place("module.zip!sample/src/main/java/App.kt", 2, 19, "-in-public-asset", &[]),
            place("module.zip!server/Sync.kt", 2, 19, "", &[]),
        ]
    );
    assert_eq!(report.errors, vec![]);
}
