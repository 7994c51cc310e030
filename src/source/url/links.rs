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

/// What a script or style refers to: quoted paths (when `quoted` is true) and its source
/// map comment. `data:` maps are inline, hence already scanned with the body.
pub(crate) fn from_script(body: &[u8], base: &Url, quoted: bool) -> Vec<Reference> {
    let mut refs = Vec::new();
    if quoted {
        for caps in QUOTED_PATH.captures_iter(body) {
            if let Some(path) = caps.get(1).and_then(|m| std::str::from_utf8(m.as_bytes()).ok()) {
                refs.push(Reference::new(path, base, Via::Quoted));
            }
        }
    }
    if let Some(text) = crate::original::source_mapping_url(body) {
        if !crate::original::is_data_url(text) {
            refs.push(Reference::new(text, base, Via::SourceMap));
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
