//! What a fetched body loads or links to: the references `pkscan url` may follow.
//!
//! HTML goes through a real tokenizer (lol_html), never a regex: `<script src>`, `<link
//! href>` (stylesheet, preload, modulepreload, manifest), `<iframe src>`, `<a href>`, and
//! `<base href>` for resolving them; inline scripts are looked through for chunk paths.
//! Scripts and styles are looked through for their source map (`sourceMappingURL`) and for
//! quoted paths of code-split chunks and build manifests. Nothing here decides scope or
//! fetches: references come back resolved against the document's URL, with what loaded them.

use std::cell::RefCell;
use std::sync::LazyLock;

use lol_html::html_content::{Element, TextChunk};
use lol_html::{element, text, HtmlRewriter, Settings};
use regex::bytes::Regex;
use url::Url;

/// How a reference was found, which decides how far it is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Loaded by a page: `<script src>`, `<link href>`.
    Load,
    /// A document the page embeds: `<iframe src>`.
    Frame,
    /// A page it links to: `<a href>`.
    Link,
    /// A path quoted inside a script or style (a chunk, a manifest).
    Quoted,
    /// A `sourceMappingURL` comment or a `SourceMap` header.
    SourceMap,
}

/// A reference as written, and resolved when it could be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub raw: String,
    pub url: Option<Url>,
    pub via: Via,
}

impl Reference {
    fn new(raw: &str, base: &Url, via: Via) -> Reference {
        let raw = raw.trim();
        Reference { raw: raw.to_string(), url: base.join(raw).ok(), via }
    }
}

/// What kind of document a body is, from its `Content-Type`, its URL and its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Html,
    Script,
    Style,
    Other,
}

impl Kind {
    pub(crate) fn of(content_type: Option<&str>, url: &Url, body: &[u8]) -> Kind {
        let mime = content_type
            .and_then(|t| t.split(';').next())
            .map(|t| t.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match mime.as_str() {
            "text/html" | "application/xhtml+xml" => return Kind::Html,
            "text/css" => return Kind::Style,
            m if m.contains("javascript") || m.contains("ecmascript") => return Kind::Script,
            "" | "text/plain" | "application/octet-stream" => {}
            _ => return Kind::Other,
        }
        let path = url.path().to_ascii_lowercase();
        let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "js" | "mjs" | "cjs" => Kind::Script,
            "css" => Kind::Style,
            "html" | "htm" | "xhtml" => Kind::Html,
            _ if looks_like_html(body) => Kind::Html,
            _ => Kind::Other,
        }
    }
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = &body[..body.len().min(512)];
    let text = String::from_utf8_lossy(head)
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    text.starts_with("<!doctype html") || text.starts_with("<html")
}

/// Everything an HTML page loads, embeds and links to, in document order.
pub(crate) fn from_html(body: &[u8], page: &Url) -> Vec<Reference> {
    let found = RefCell::new(HtmlRefs {
        base: page.clone(),
        base_set: false,
        in_inline_script: false,
        refs: Vec::new(),
    });
    let inline = RefCell::new(String::new());
    let on_element = |el: &mut Element| {
        found.borrow_mut().element(el);
        Ok(())
    };
    let on_script_text = |chunk: &mut TextChunk| {
        if !found.borrow().in_inline_script {
            return Ok(());
        }
        let mut text = inline.borrow_mut();
        text.push_str(chunk.as_str());
        if chunk.last_in_text_node() {
            let mut refs = found.borrow_mut();
            let base = refs.base.clone();
            refs.refs.extend(from_script(text.as_bytes(), &base, true));
            text.clear();
        }
        Ok(())
    };
    let settings = Settings::new()
        .with_strict(false)
        .append_element_content_handler(element!(
            "base[href], script, link[href], iframe[src], frame[src], a[href]",
            on_element
        ))
        .append_element_content_handler(text!("script", on_script_text));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    // A tokenizer error (a pathological document) leaves what was found so far.
    if rewriter.write(body).is_ok() {
        let _ = rewriter.end();
    } else {
        drop(rewriter);
    }
    found.into_inner().refs
}

struct HtmlRefs {
    base: Url,
    base_set: bool,
    /// Inside an inline `<script>` of JavaScript (not JSON data): its text is looked
    /// through for chunk paths.
    in_inline_script: bool,
    refs: Vec<Reference>,
}

impl HtmlRefs {
    fn element(&mut self, el: &Element) {
        let tag = el.tag_name();
        let attr = |name: &str| el.get_attribute(name).filter(|v| !v.trim().is_empty());
        match tag.as_str() {
            // Only the first <base href> counts, as in browsers.
            "base" if !self.base_set => {
                if let Some(base) = attr("href").and_then(|h| self.base.join(h.trim()).ok()) {
                    self.base = base;
                    self.base_set = true;
                }
            }
            "script" => {
                let src = attr("src");
                let kind = el.get_attribute("type").unwrap_or_default().to_ascii_lowercase();
                let kind = kind.trim();
                self.in_inline_script = src.is_none()
                    && (kind.is_empty() || kind.contains("javascript") || kind == "module");
                self.push(src, Via::Load);
            }
            "iframe" | "frame" => self.push(attr("src"), Via::Frame),
            "a" => self.push(attr("href"), Via::Link),
            "link" if link_is_loaded(el) => self.push(attr("href"), Via::Load),
            _ => {}
        }
    }

    fn push(&mut self, value: Option<String>, via: Via) {
        if let Some(value) = value {
            self.refs.push(Reference::new(&value, &self.base, via));
        }
    }
}

/// `<link>`s whose target the browser fetches and that can hold code or data: stylesheets,
/// manifests, and preloads of scripts, styles and fetches (not images, fonts or media).
fn link_is_loaded(el: &Element) -> bool {
    let rel = el.get_attribute("rel").unwrap_or_default().to_ascii_lowercase();
    let tokens: Vec<&str> = rel.split_ascii_whitespace().collect();
    if tokens.iter().any(|t| matches!(*t, "stylesheet" | "manifest" | "modulepreload")) {
        return true;
    }
    if tokens.contains(&"preload") {
        let what = el.get_attribute("as").unwrap_or_default().to_ascii_lowercase();
        return !matches!(what.trim(), "image" | "font" | "audio" | "video" | "track");
    }
    false
}

/// Quoted paths in code that name scripts, styles, source maps or JSON: root-relative
/// (`/assets/x.js`), relative with `./` or `../` (a module's dynamic import), protocol-
/// relative or absolute. Bare names (`x.js`) are left alone: their base is anyone's guess.
static QUOTED_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"["'`]((?:(?:https?:)?//|\.{1,2}/|/)[^"'`\s<>\\{}()*;,]{0,2000}?\.(?:m?js|css|map|json)(?:\?[^"'`\s<>\\{}()*;,]{0,500})?)["'`]"#,
    )
    .expect("the quoted-path pattern is valid")
});

/// A chunk path in a Next.js `_buildManifest.js`: `"static/chunks/pages/x-3f9a.js"`,
/// relative to the asset prefix.
static MANIFEST_CHUNK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(static/(?-u:[^"\\\s<>{}]){1,2000}?\.(?:m?js|css))""#)
        .expect("the manifest chunk pattern is valid")
});

// Byte classes (`(?-u:…)`) throughout: bounded repetitions of Unicode classes compile
// to automata that take a tenth of a second each to build.

/// A webpack runtime's chunk file name through a literal id-to-hash map:
/// `"static/js/" + e + "." + {12:"3f9a…"}[e] + ".chunk.js"`. Groups: folder, id variable,
/// separator, the map's body, the variable indexing it, suffix.
static WEBPACK_CHUNK_MAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#""((?-u:[^"\\\s]){0,500})"\s*\+\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*\+\s*"((?-u:[^"\\\s]){0,100})"\s*\+\s*\(?\s*\{([^{}]+)\}\s*\)?\s*\[\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*\]\s*\+\s*"((?-u:[^"\\\s]){0,100})""#,
    )
    .expect("the webpack chunk map pattern is valid")
});

/// One `id: "hash"` entry of a chunk map (ids are numbers, strings or names).
static CHUNK_ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u:[,{\s]|^)(?:(\d{1,12})|"([A-Za-z0-9_./-]{1,200})"|([A-Za-z_$][A-Za-z0-9_$]{0,200}))\s*:\s*"([A-Za-z0-9_-]{1,100})""#)
        .expect("the chunk entry pattern is valid")
});

/// The webpack runtime's public path: `__webpack_require__.p = "/_next/"`, minified `.p="/"`.
static PUBLIC_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\.p\s*=\s*"((?-u:[^"\\\s]){0,500})""#).expect("the public path pattern is valid")
});

/// What a script or style refers to: quoted paths, the chunks a Next.js build manifest
/// lists and those a webpack runtime's chunk map names (when `quoted` is true), and its
/// source map comment. `data:` maps are inline, hence already scanned with the body.
pub(crate) fn from_script(body: &[u8], base: &Url, quoted: bool) -> Vec<Reference> {
    let mut refs = Vec::new();
    if quoted {
        for caps in QUOTED_PATH.captures_iter(body) {
            if let Some(path) = caps.get(1).and_then(|m| std::str::from_utf8(m.as_bytes()).ok()) {
                refs.push(Reference::new(path, base, Via::Quoted));
            }
        }
        refs.extend(manifest_chunks(body, base));
        refs.extend(webpack_chunks(body, base));
    }
    if let Some(text) = crate::original::source_mapping_url(body) {
        if !crate::original::is_data_url(text) {
            refs.push(Reference::new(text, base, Via::SourceMap));
        }
    }
    refs
}

/// The asset prefix of a Next.js script: its URL up to and including `/_next/`, else
/// `/_next/` on its origin.
fn next_prefix(script: &Url) -> Url {
    let path = script.path();
    let prefix = match path.find("/_next/") {
        Some(at) => &path[..at + "/_next/".len()],
        None => "/_next/",
    };
    script.join(prefix).unwrap_or_else(|_| script.clone())
}

/// The chunks a Next.js `_buildManifest.js` lists, relative to the asset prefix.
fn manifest_chunks(body: &[u8], base: &Url) -> Vec<Reference> {
    if memchr::memmem::find(body, b"__BUILD_MANIFEST").is_none() {
        return Vec::new();
    }
    let prefix = next_prefix(base);
    MANIFEST_CHUNK
        .captures_iter(body)
        .filter_map(|caps| std::str::from_utf8(caps.get(1)?.as_bytes()).ok())
        .map(|path| Reference::new(path, &prefix, Via::Quoted))
        .collect()
}

fn text(m: Option<regex::bytes::Match<'_>>) -> &str {
    m.and_then(|m| std::str::from_utf8(m.as_bytes()).ok()).unwrap_or_default()
}

/// The chunk files a webpack runtime names through a literal id-to-hash map, relative to
/// its public path (`.p="/_next/"`; a script's own folder for `auto` or none).
fn webpack_chunks(body: &[u8], base: &Url) -> Vec<Reference> {
    let mut refs = Vec::new();
    for caps in WEBPACK_CHUNK_MAP.captures_iter(body) {
        let (folder, var, sep) = (text(caps.get(1)), text(caps.get(2)), text(caps.get(3)));
        let (entries, index, suffix) = (text(caps.get(4)), text(caps.get(5)), text(caps.get(6)));
        if var != index {
            continue;
        }
        let public = PUBLIC_PATH.captures(body).map(|c| text(c.get(1))).unwrap_or("auto");
        let root = match public {
            "auto" | "" => base.clone(),
            path => base.join(path).unwrap_or_else(|_| base.clone()),
        };
        for entry in CHUNK_ENTRY.captures_iter(entries.as_bytes()) {
            let id = text(entry.get(1).or(entry.get(2)).or(entry.get(3)));
            let hash = text(entry.get(4));
            refs.push(Reference::new(
                &format!("{folder}{id}{sep}{hash}{suffix}"),
                &root,
                Via::Quoted,
            ));
        }
    }
    refs
}

/// The source map a `SourceMap` or `X-SourceMap` header names.
pub(crate) fn from_source_map_header(value: &str, base: &Url) -> Reference {
    Reference::new(value, base, Via::SourceMap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://shop.example/products/hat?x=1").unwrap()
    }

    fn urls(refs: &[Reference]) -> Vec<(String, Via)> {
        refs.iter().map(|r| (r.url.as_ref().map_or("-".into(), |u| u.to_string()), r.via)).collect()
    }

    #[test]
    fn html_loads_embeds_and_links_in_order() {
        let page = br#"<!doctype html><html><head>
<link rel="stylesheet" href="/theme.css"><link rel="icon" href="/favicon.ico">
<link rel="preload" as="font" href="/f.woff2"><link rel="preload" as="script" href="p.js">
<link rel="modulepreload" href="/m.js"><link rel="manifest" href="/site.webmanifest">
<script src="https://shop.example/app.js" async></script>
<script>var s = "<a href='/not-a-link'>"; import("./lazy.js"); // "<script src=/nope.js>"</script>
<script type="application/json" id="__NEXT_DATA__">{"page":"/data.json"}</script>
</head><body><a href="/about#team">About</a><a href="mailto:x@y">m</a>
<iframe src="/widget"></iframe><img src="/i.png"></body></html>"#;
        let got = urls(&from_html(page, &base()));
        let want = vec![
            ("https://shop.example/theme.css", Via::Load),
            ("https://shop.example/products/p.js", Via::Load),
            ("https://shop.example/m.js", Via::Load),
            ("https://shop.example/site.webmanifest", Via::Load),
            ("https://shop.example/app.js", Via::Load),
            ("https://shop.example/products/lazy.js", Via::Quoted),
            ("https://shop.example/about#team", Via::Link),
            ("mailto:x@y", Via::Link),
            ("https://shop.example/widget", Via::Frame),
        ];
        let want: Vec<_> = want.into_iter().map(|(u, v)| (u.to_string(), v)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn base_href_resolves_what_follows() {
        let page = br#"<base href="https://cdn.example/v2/"><script src="a.js"></script><base href="/other/"><script src="b.js"></script>"#;
        let got = urls(&from_html(page, &base()));
        assert_eq!(got[0].0, "https://cdn.example/v2/a.js");
        assert_eq!(got[1].0, "https://cdn.example/v2/b.js");
    }

    #[test]
    fn scripts_give_chunks_and_their_source_map() {
        let script = br#"!function(){var a={1:"/static/js/1.chunk.js",2:'../css/x.css?v=3',3:`//shop.example/m.json`};
import("./page-3f9a.mjs");var n="app.js",t="/api/"+n+".js",r="/x/${y}.js",w="/re\\.js";
fetch("https://other.example/data.json")}();
//# sourceMappingURL=main.js.map
"#;
        let base = Url::parse("https://shop.example/static/js/main.js").unwrap();
        let got = urls(&from_script(script, &base, true));
        let want = vec![
            ("https://shop.example/static/js/1.chunk.js", Via::Quoted),
            ("https://shop.example/static/css/x.css?v=3", Via::Quoted),
            ("https://shop.example/m.json", Via::Quoted),
            ("https://shop.example/static/js/page-3f9a.mjs", Via::Quoted),
            ("https://other.example/data.json", Via::Quoted),
            ("https://shop.example/static/js/main.js.map", Via::SourceMap),
        ];
        let want: Vec<_> = want.into_iter().map(|(u, v)| (u.to_string(), v)).collect();
        assert_eq!(got, want);
        assert_eq!(urls(&from_script(script, &base, false)), want[5..].to_vec());
    }

    #[test]
    fn next_build_manifests_give_their_chunks() {
        let manifest = br#"self.__BUILD_MANIFEST={__rewrites:{afterFiles:[],beforeFiles:[],fallback:[]},"/":["static/chunks/pages/index-39150951e7b49563.js"],"/products/[handle]":["static/chunks/pages/products/[handle]-03738e8dfe0e180c.js","static/css/a1.css"],sortedPages:["/","/_app"]},self.__BUILD_MANIFEST_CB&&self.__BUILD_MANIFEST_CB();"#;
        let base =
            Url::parse("https://cdn.example/shop/_next/static/b1/_buildManifest.js").unwrap();
        let want = vec![
            ("https://cdn.example/shop/_next/static/chunks/pages/index-39150951e7b49563.js", Via::Quoted),
            ("https://cdn.example/shop/_next/static/chunks/pages/products/[handle]-03738e8dfe0e180c.js", Via::Quoted),
            ("https://cdn.example/shop/_next/static/css/a1.css", Via::Quoted),
        ];
        let want: Vec<_> = want.into_iter().map(|(u, v)| (u.to_string(), v)).collect();
        assert_eq!(urls(&from_script(manifest, &base, true)), want);
        assert_eq!(from_script(manifest, &base, false), vec![], "only where quoted paths are");
        let plain = br#"var a = ["static/chunks/x.js"];"#;
        assert_eq!(from_script(plain, &base, true), vec![], "no manifest, no bare paths");
    }

    #[test]
    fn webpack_chunk_maps_give_their_chunks() {
        let next = br#"f.u=function(e){return"static/chunks/"+e+"."+({158:"3d0532b8009804fc",614:"c7a571e1163262ae"})[e]+".js"},f.p="/_next/""#;
        let base = Url::parse("https://shop.example/_next/static/chunks/webpack-1.js").unwrap();
        let got = urls(&from_script(next, &base, true));
        assert_eq!(
            got,
            vec![
                (
                    "https://shop.example/_next/static/chunks/158.3d0532b8009804fc.js".to_string(),
                    Via::Quoted
                ),
                (
                    "https://shop.example/_next/static/chunks/614.c7a571e1163262ae.js".to_string(),
                    Via::Quoted
                ),
            ]
        );
        let cra = br#"a.u=function(e){return"static/js/" + e + "." + {12:"3f9a0c1d","vendors-main":"77ab"}[e] + ".chunk.js"},a.p="/app/""#;
        let base = Url::parse("https://shop.example/app/static/js/main.js").unwrap();
        let got = urls(&from_script(cra, &base, true));
        assert_eq!(
            got,
            vec![
                (
                    "https://shop.example/app/static/js/12.3f9a0c1d.chunk.js".to_string(),
                    Via::Quoted
                ),
                (
                    "https://shop.example/app/static/js/vendors-main.77ab.chunk.js".to_string(),
                    Via::Quoted
                ),
            ]
        );
        let other_index = br#"return"static/js/"+e+"."+{12:"3f9a"}[t]+".js""#;
        assert_eq!(from_script(other_index, &base, true), vec![]);
    }

    #[test]
    fn inline_source_maps_are_not_fetched() {
        let css = b"a{}\n/*# sourceMappingURL=data:application/json;base64,eyJ9 */";
        assert_eq!(from_script(css, &base(), true), vec![]);
    }

    #[test]
    fn kinds() {
        let u = |p: &str| Url::parse(&format!("https://s.example{p}")).unwrap();
        assert_eq!(Kind::of(Some("text/html; charset=utf-8"), &u("/x.js"), b""), Kind::Html);
        assert_eq!(Kind::of(Some("application/javascript"), &u("/x"), b""), Kind::Script);
        assert_eq!(Kind::of(Some("text/css"), &u("/x"), b""), Kind::Style);
        assert_eq!(Kind::of(Some("application/json"), &u("/x.js"), b""), Kind::Other);
        assert_eq!(Kind::of(None, &u("/x.mjs"), b""), Kind::Script);
        assert_eq!(Kind::of(None, &u("/"), b"\n <!DOCTYPE html><p>"), Kind::Html);
        assert_eq!(Kind::of(None, &u("/x.map"), b"{}"), Kind::Other);
    }

    #[test]
    fn hostile_html_does_not_panic() {
        for page in [
            &b"<script src="[..],
            b"<a href='\xff\xfe'>",
            b"<base href='::'><a href=x>",
            b"<<<>>>\0",
        ] {
            let _ = from_html(page, &base());
        }
    }
}
