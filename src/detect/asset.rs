//! Is a file served to clients (a "public asset")? Decided from its path (built-site
//! folders, templates, client components, bundles, source maps, mobile app code, members
//! of app packages; never server-only routes or build caches) and, only for files that
//! hold a key, from its content (a minified line, a `react-native` import, a public
//! variable of an `.env` file).

use memchr::{memchr, memmem, memrchr};

use crate::lines::char_count;

/// Folders whose contents are served as they are.
const SERVED_FOLDERS: &[&str] =
    &["dist", "build", "public", "static", "_site", "out", "www", "assets"];

/// Extensions of files that are served or shipped to devices whatever folder they are in.
const SERVED_EXTENSIONS: &[&str] = &[
    "html",
    "htm",
    "xhtml",
    "liquid",
    "hbs",
    "handlebars",
    "ejs",
    "njk",
    "erb",
    "phtml",
    "twig",
    "isml",
    "tpl",
    "mustache",
    "jinja",
    "j2",
    "cshtml",
    "razor",
    "jsx",
    "tsx",
    "vue",
    "svelte",
    "map",
    "swift",
    "m",
    "mm",
    "dart",
];

/// Templates named by two extensions, whose last one alone says nothing (`.php`).
const SERVED_DOUBLE_EXTENSIONS: &[&str] = &[".blade.php"];

/// The file an Android module declares itself with.
pub(crate) const ANDROID_MANIFEST: &str = "AndroidManifest.xml";

/// App packages whose members are shipped to devices.
const APP_PACKAGES: &[&str] = &[".apk!", ".ipa!", ".aab!"];

/// Build caches: never served, whatever their lines look like.
const CACHE_FOLDERS: &[[&str; 2]] =
    &[[".next", "cache"], ["node_modules", ".cache"], [".angular", "cache"], [".nx", "cache"]];
const CACHE_FOLDER_NAMES: &[&str] = &[".parcel-cache", ".turbo"];

/// Prefixes of environment variables that frameworks inline into client bundles.
const PUBLIC_ENV_PREFIXES: &[&str] = &[
    "NEXT_PUBLIC_",
    "VITE_",
    "REACT_APP_",
    "NUXT_PUBLIC_",
    "GATSBY_",
    "EXPO_PUBLIC_",
    "PUBLIC_",
    "STORYBOOK_",
];

/// A line longer than this many characters marks a minified bundle.
pub(crate) const MINIFIED_LINE_CHARS: usize = 5000;

/// What the path alone says. `is_android_code` asks for a filesystem look-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathTraits {
    pub served: bool,
    /// Kotlin or Java outside an `android/` folder: served when its module has an
    /// `AndroidManifest.xml`, which only the source can tell.
    pub maybe_android: bool,
    /// JavaScript or TypeScript: served when it imports `react-native`.
    pub maybe_react_native: bool,
    /// Server-only code or a build cache: nothing in its content makes it served.
    pub never_served: bool,
    /// An `.env` file: a key in a public variable is served.
    pub env_file: bool,
}

impl PathTraits {
    /// `path` is `/`-separated and may contain `outer!inner` container separators.
    pub fn of(path: &str) -> PathTraits {
        let lower = path.to_ascii_lowercase();
        if APP_PACKAGES.iter().any(|p| lower.contains(p)) {
            return PathTraits { served: true, ..PathTraits::default() };
        }
        let parts: Vec<&str> = lower.split(['/', '!']).collect();
        let (file, folders) = parts.split_last().unwrap_or((&"", &[]));
        let served_folder = folders.iter().any(|f| SERVED_FOLDERS.contains(f))
            || folders.windows(2).any(|w| w == [".next", "static"]);
        let extension = file.rsplit_once('.').map_or("", |(_, ext)| ext);
        let minified =
            [".min.js", ".min.mjs", ".min.cjs", ".min.css"].iter().any(|s| file.ends_with(s));
        let template = SERVED_DOUBLE_EXTENSIONS.iter().any(|s| file.ends_with(s));
        let jvm = matches!(extension, "kt" | "kts" | "java");
        let android_folder = folders.contains(&"android");
        if is_server_only(file, folders) || is_build_cache(folders) {
            return PathTraits { never_served: true, ..PathTraits::default() };
        }
        PathTraits {
            served: served_folder
                || minified
                || template
                || SERVED_EXTENSIONS.contains(&extension)
                || (jvm && android_folder),
            maybe_android: jvm && !android_folder,
            maybe_react_native: matches!(extension, "js" | "ts" | "mjs" | "cjs"),
            never_served: false,
            env_file: *file == ".env" || file.starts_with(".env."),
        }
    }
}

/// The paths, relative to the root of the tree `path` comes from (`/`-separated), where an
/// `AndroidManifest.xml` would make `path` Android app code: in each folder above it, up
/// to the tree's root, directly or in `src/main/`. Every source answers with its own tree
/// (the disk, a commit's tree, the index, an archive's members), so the rule never depends
/// on how the root was named.
pub(crate) fn android_manifest_paths(path: &str) -> impl Iterator<Item = String> + '_ {
    fn parent(path: &str) -> &str {
        path.rsplit_once('/').map_or("", |(dir, _)| dir)
    }
    let mut next = Some(parent(path));
    let dirs = std::iter::from_fn(move || {
        let dir = next?;
        next = (!dir.is_empty()).then(|| parent(dir));
        Some(dir)
    });
    dirs.flat_map(|dir| {
        let sep = if dir.is_empty() { "" } else { "/" };
        [format!("{dir}{sep}{ANDROID_MANIFEST}"), format!("{dir}{sep}src/main/{ANDROID_MANIFEST}")]
    })
}

/// Is the `/`-separated `path` an Android module's manifest?
pub(crate) fn is_android_manifest(path: &str) -> bool {
    path.rsplit('/').next() == Some(ANDROID_MANIFEST)
}

impl PathTraits {
    /// What the path and the content around the key at `buf[start..end]` say, short of
    /// the Android manifest look-up (the caller's, when `maybe_android`).
    pub fn is_served_at(&self, buf: &[u8], start: usize, end: usize) -> bool {
        if self.never_served {
            return false;
        }
        self.served
            || is_on_minified_line(buf, start, end)
            || (self.maybe_react_native && imports_react_native(buf))
            || (self.env_file && is_public_env_value(buf, start))
    }
}

/// Routes and modules that frameworks run on the server only: Next.js `pages/api/` and App
/// Router `route.js|ts` under `app/`, Nuxt's `server/`, SvelteKit's `+server`,
/// `+page.server` and `+layout.server`, Remix's `*.server.*`. `file` and `folders` are
/// lowercase.
fn is_server_only(file: &str, folders: &[&str]) -> bool {
    let (stem, extension) = file.rsplit_once('.').unwrap_or((file, ""));
    let script = matches!(extension, "js" | "ts" | "jsx" | "tsx" | "mjs" | "cjs");
    folders.windows(2).any(|w| w == ["pages", "api"])
        || folders.contains(&"server")
        || (folders.contains(&"app") && matches!(file, "route.js" | "route.ts"))
        || (script && (stem == "+server" || stem.ends_with(".server")))
}

/// Build caches: `.next/cache/`, `node_modules/.cache/`, `.parcel-cache/`, `.turbo/`,
/// `.angular/cache/`, `.nx/cache/`.
fn is_build_cache(folders: &[&str]) -> bool {
    folders.iter().any(|f| CACHE_FOLDER_NAMES.contains(f))
        || folders.windows(2).any(|w| CACHE_FOLDERS.iter().any(|c| w == c))
}

/// True when the key at `buf[start..]` is the value of an `.env` line whose variable a
/// framework inlines into client bundles (`NEXT_PUBLIC_`, `VITE_`...).
pub(crate) fn is_public_env_value(buf: &[u8], start: usize) -> bool {
    let line_start = memrchr(b'\n', &buf[..start]).map_or(0, |i| i + 1);
    let line = String::from_utf8_lossy(&buf[line_start..start]);
    let line = line.trim_start();
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    let Some((name, _)) = line.split_once('=') else {
        return false;
    };
    let name = name.trim_end();
    let is_name = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    is_name && PUBLIC_ENV_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// True when the line holding `buf[start..end]` is longer than a hand-written one.
pub fn is_on_minified_line(buf: &[u8], start: usize, end: usize) -> bool {
    let line_start = memrchr(b'\n', &buf[..start]).map_or(0, |i| i + 1);
    let line_end = memchr(b'\n', &buf[end..]).map_or(buf.len(), |i| end + i);
    let line = &buf[line_start..line_end];
    if line.len() <= MINIFIED_LINE_CHARS {
        return false;
    }
    // Characters never outnumber bytes and take at most four of them.
    line.len() > 4 * MINIFIED_LINE_CHARS || char_count(line) > MINIFIED_LINE_CHARS
}

/// True when `buf` imports React Native.
pub(crate) fn imports_react_native(buf: &[u8]) -> bool {
    [
        "from 'react-native'",
        "from \"react-native\"",
        "require('react-native')",
        "require(\"react-native\")",
    ]
    .iter()
    .any(|needle| memmem::find(buf, needle.as_bytes()).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_by_folder_extension_or_package() {
        for path in [
            "dist/app.js",
            "site/build/main.js",
            "public/index.js",
            "web/.next/static/chunks/1.js",
            "index.html",
            "theme/snippets/klaviyo.liquid",
            "src/App.tsx",
            "src/App.vue",
            "app.js.map",
            "vendor/lib.min.js",
            "ios/AppDelegate.swift",
            "lib/main.dart",
            "android/app/src/main/java/com/acme/App.kt",
            "release.apk!classes.dex",
            "app.zip!dist/main.js",
        ] {
            assert!(PathTraits::of(path).served, "{path}");
        }
    }

    #[test]
    fn not_served() {
        for path in [
            "server/app.js",
            "src/index.ts",
            ".env",
            "web/.next/server/page.js",
            "lib/App.kt",
            "distribution/x.py",
        ] {
            assert!(!PathTraits::of(path).served, "{path}");
        }
        assert!(PathTraits::of("lib/App.kt").maybe_android);
        assert!(PathTraits::of("src/index.ts").maybe_react_native);
    }

    #[test]
    fn commerce_and_server_templates_are_served() {
        for path in [
            "app/design/frontend/Acme/default/Magento_Theme/templates/html/header.phtml",
            "src/Resources/views/storefront/base.html.twig",
            "cartridge/templates/default/common/htmlHead.isml",
            "resources/views/layouts/app.blade.php",
            "themes/shop/index.tpl",
            "views/footer.mustache",
            "templates/base.jinja",
            "templates/base.html.j2",
            "Views/Shared/_Layout.cshtml",
            "Components/App.razor",
        ] {
            assert!(PathTraits::of(path).served, "{path}");
        }
        assert!(!PathTraits::of("app/Http/Controllers/KlaviyoController.php").served);
        assert!(!PathTraits::of("resources/views/blade.php").served, "no template suffix");
    }

    #[test]
    fn android_manifests_are_looked_for_in_every_folder_above() {
        let found: Vec<String> = android_manifest_paths("sample/src/main/java/App.kt").collect();
        let expected = [
            "sample/src/main/java/AndroidManifest.xml",
            "sample/src/main/java/src/main/AndroidManifest.xml",
            "sample/src/main/AndroidManifest.xml",
            "sample/src/main/src/main/AndroidManifest.xml",
            "sample/src/AndroidManifest.xml",
            "sample/src/src/main/AndroidManifest.xml",
            "sample/AndroidManifest.xml",
            "sample/src/main/AndroidManifest.xml",
            "AndroidManifest.xml",
            "src/main/AndroidManifest.xml",
        ];
        assert_eq!(found, expected);
        let top: Vec<String> = android_manifest_paths("App.kt").collect();
        assert_eq!(top, ["AndroidManifest.xml", "src/main/AndroidManifest.xml"]);
    }

    #[test]
    fn server_only_routes_are_never_served() {
        for path in [
            "pages/api/klaviyoSubscribe.tsx",
            "src/pages/api/subscribe.js",
            "app/api/subscribe/route.ts",
            "src/app/route.js",
            "server/api/subscribe.ts",
            "server/components/Widget.vue",
            "dist/server/entry.mjs",
            "src/routes/api/+server.js",
            "src/routes/+page.server.ts",
            "src/routes/+layout.server.js",
            "app/routes/klaviyo.server.tsx",
            "app/utils/session.server.ts",
        ] {
            let traits = PathTraits::of(path);
            assert!(traits.never_served && !traits.served, "{path}");
        }
        for path in ["pages/index.tsx", "app/page.tsx", "src/routes/+page.svelte", "route.ts"] {
            assert!(!PathTraits::of(path).never_served, "{path}");
        }
    }

    #[test]
    fn build_caches_are_never_served_even_with_long_lines() {
        let long = format!("{}KEY{}", "a".repeat(3000), "b".repeat(3000));
        let at = long.find("KEY").unwrap();
        for path in [
            ".next/cache/webpack/client-production/0.pack",
            "web/.next/cache/images/x.js",
            "node_modules/.cache/babel-loader/1.json",
            ".parcel-cache/data.mdb",
            ".turbo/cache/x.tar.zst",
            ".angular/cache/17.0.0/x.js",
            ".nx/cache/run.json",
        ] {
            let traits = PathTraits::of(path);
            assert!(traits.never_served, "{path}");
            assert!(!traits.is_served_at(long.as_bytes(), at, at + 3), "{path}");
        }
        assert!(PathTraits::of("x.js").is_served_at(long.as_bytes(), at, at + 3));
    }

    #[test]
    fn public_env_variables_are_served() {
        let served = |path: &str, text: &str| {
            let at = text.find("KEY").unwrap();
            PathTraits::of(path).is_served_at(text.as_bytes(), at, at + 3)
        };
        for prefix in [
            "NEXT_PUBLIC_",
            "VITE_",
            "REACT_APP_",
            "NUXT_PUBLIC_",
            "GATSBY_",
            "EXPO_PUBLIC_",
            "PUBLIC_",
            "STORYBOOK_",
        ] {
            assert!(served(".env", &format!("A=1\n{prefix}KLAVIYO=KEY\n")), "{prefix}");
        }
        assert!(served(".env.production", "export VITE_KLAVIYO = \"KEY\""));
        assert!(!served(".env", "KLAVIYO_PRIVATE_KEY=KEY"));
        assert!(!served(".env", "# NEXT_PUBLIC_KLAVIYO=KEY"));
        assert!(!served("config.env", "NEXT_PUBLIC_KLAVIYO=KEY"));
        assert!(!served("src/env.ts", "NEXT_PUBLIC_KLAVIYO=KEY"));
    }

    #[test]
    fn minified_lines_and_react_native() {
        let long = format!("{}KEY{}", "a".repeat(3000), "b".repeat(3000));
        let at = long.find("KEY").unwrap();
        assert!(is_on_minified_line(long.as_bytes(), at, at + 3));
        let short = "x\nKEY\ny";
        assert!(!is_on_minified_line(short.as_bytes(), 2, 5));
        assert!(imports_react_native(b"import { View } from 'react-native';"));
        assert!(!imports_react_native(b"import React from 'react';"));
    }
}
