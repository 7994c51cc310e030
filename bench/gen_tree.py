#!/usr/bin/env python3
"""Generate a deterministic, realistic mixed file tree for the pkscan benchmark.

    python3 bench/gen_tree.py --size 1G --out bench/data/tree [--seed 7] [--force]

Python 3 standard library only.  Same seed and size -> the same bytes.

What is in it (for 1 GiB; counts scale with --size, about 8,890 files/GiB):
  * ordinary source files: JS, TS, Python, Ruby, Go, JSON, YAML, Markdown,
    CSS, HTML, SQL (apps/, services/, packages/, docs/, config/, hidden
    .github/ and .env files), a few multi-MB JSON fixtures and logs;
  * minified bundles: single-line JS files of 8-20 MB (apps/*/dist/assets/);
  * source maps with sourcesContent (apps/*/dist/assets/*.js.map);
  * binaries: random bytes, fake PNG/JPEG/GIF images, fonts, wasm, sqlite,
    and a few gzip-precompressed text assets (*.js.gz, real gzip);
  * a deep node_modules/ with many small files (nesting up to ~8 levels).

Planted keys: a fixed, small set of synthetic private-key-shaped tokens (random
lowercase hex from the seeded RNG; never a real key) written into a .env
file, a Python settings module, the middle of a minified bundle, the
sourcesContent of a source map, a deep node_modules file, a Helm values file
(newer `pk_XXXXXX_<34 hex>` shape), an HTML page, a big log file, and one only
visible after base64 decoding (a legacy /api/track?data= URL).  The list, with
sha256 and paths, goes to `<out>.planted.txt` (e.g. bench/data/tree.planted.txt).

Decoys (SQL `pk_orders_id`, Stripe `pk_live_...`/`pk_test_...`, Mapbox
`pk.eyJ...`, Django `pk=pk_company`) appear now and then; no other
key-shaped token does (the generator checks every text file it writes).
"""

import argparse
import base64
import gzip
import hashlib
import json
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textgen as tg  # noqa: E402

GiB = 1 << 30
MiB = 1 << 20
FILES_PER_GIB = 8890


def parse_size(s):
    s = s.strip().upper().replace("IB", "").replace("B", "")
    mult = {"K": 1 << 10, "M": MiB, "G": GiB, "T": 1 << 40}
    if s and s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]])
    return int(s)


def loguniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


class Tree:
    def __init__(self, out, rng):
        self.out = out
        self.rng = rng
        self.paths = set()
        self.files = 0
        self.bytes = 0

    def unique(self, rel):
        base, ext = os.path.splitext(rel)
        n, cand = 1, rel
        while cand in self.paths:
            n += 1
            cand = "%s_%d%s" % (base, n, ext)
        self.paths.add(cand)
        return cand

    def write(self, rel, parts, check=True):
        """Write the byte chunks `parts` to rel (already unique)."""
        full = os.path.join(self.out, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        n = 0
        with open(full, "wb") as f:
            for p in parts:
                f.write(p)
                n += len(p)
        self.files += 1
        self.bytes += n
        return n


def text_body(rng, sampler, n):
    """Chunks of corpus lines totalling about n bytes."""
    out, left = [], n
    while left > 0:
        c = sampler.chunk(rng, min(left, rng.randint(4096, 256 * 1024)))
        if len(c) == 0:
            break
        out.append(c)
        left -= len(c)
    return out


def insert_middle(parts, line, frac=0.5):
    """Insert bytes `line` at a line break near `frac` of the concatenation."""
    data = b"".join(bytes(p) for p in parts)
    pos = int(len(data) * frac)
    nl = data.find(b"\n", pos)
    pos = len(data) if nl == -1 else nl + 1
    return [data[:pos], line, data[pos:]]


def check_no_key(tree, rel, parts):
    for p in parts:
        if tg.KEY_RE.search(bytes(p)):
            raise SystemExit("BUG: unplanned key-shaped token in %s" % rel)


HEADERS = {
    "js": b"'use strict';\n\n", "ts": b"// Copyright (c) Acme Inc.\n\n",
    "py": b"\"\"\"Acme service module.\"\"\"\nimport os\nimport logging\n\nlogger = logging.getLogger(__name__)\n\n",
    "rb": b"# frozen_string_literal: true\n\n", "go": b"package main\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n",
    "json": b"[\n", "yaml": b"# generated\n", "md": b"# README\n\n", "css": b"/* styles */\n",
    "html": b"<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"></head>\n<body>\n",
    "sql": b"-- migration\nBEGIN;\n", "log": b"",
}
FOOTERS = {"json": b"  {}\n]\n", "html": b"</body>\n</html>\n", "sql": b"COMMIT;\n"}
SRC_MIX = [("js", 22), ("ts", 18), ("py", 14), ("rb", 6), ("go", 8), ("json", 10),
           ("yaml", 6), ("md", 8), ("css", 4), ("html", 4)]
SRC_DIRS = ["apps/web/src", "apps/admin/src", "apps/storefront/src", "services/api/app",
            "services/worker/lib", "services/billing/internal", "packages/ui/src",
            "packages/sdk/src", "docs", "config", "scripts", "tests/unit", "tests/e2e",
            ".github/workflows", "infra/terraform", "deploy/k8s"]
EXT_DIR_HINT = {"py": ["services/api/app", "services/worker/lib", "scripts", "tests/unit"],
                "go": ["services/billing/internal", "cmd/server", "pkg/store"],
                "rb": ["legacy/shop/app/models", "legacy/shop/lib"],
                "md": ["docs", "docs/guides", "."], "yaml": ["config", ".github/workflows", "deploy/k8s"],
                "html": ["apps/web/public", "apps/storefront/templates", "docs/site"]}


def pick_weighted(rng, mix):
    total = sum(w for _, w in mix)
    r = rng.uniform(0, total)
    for k, w in mix:
        r -= w
        if r <= 0:
            return k
    return mix[-1][0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1G", help="total size, e.g. 1G, 256M, 64M (default 1G)")
    ap.add_argument("--out", default="bench/data/tree", help="output directory")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--planted", help="planted-keys list (default: <out>.planted.txt)")
    ap.add_argument("--force", action="store_true", help="delete --out first if it exists")
    a = ap.parse_args()

    total = parse_size(a.size)
    out, planted_path = tg.prepare_out(a.out, a.planted, a.force)
    t0 = time.time()
    rng = random.Random(a.seed)
    scale = total / GiB
    n_files = max(200, round(FILES_PER_GIB * scale))

    # ---- corpora (shared by all files; content is sampled from them)
    corp = {k: tg.Sampler(tg.corpus(rng, k, 2 * MiB)) for k in
            ("js", "ts", "py", "rb", "go", "json", "yaml", "md", "css", "html", "sql", "log")}
    mini = tg.minified_corpus(rng, 4 * MiB)
    maps_pool = "".join(rng.choice("ACEGIKMOQSUWYacegikmoqsuwy0123456789+/") +
                        rng.choice("AACCEEGIKgik") + rng.choice(",,,,;") for _ in range(300000)).encode()

    # ---- keys to plant (fixed set for every size)
    keys = [tg.make_key(rng) for _ in range(8)] + [tg.make_key(rng, new_shape=True)]
    planted = []  # (key, path, where, encoding)
    tree = Tree(out, rng)

    # ---- plan the budget
    n_bundles = max(2, round(6 * scale))
    n_maps = max(2, round(5 * scale))
    n_bin = max(10, round(640 * scale))
    n_gz = max(2, round(12 * scale))
    n_nm = max(50, round(4300 * scale))
    n_src = max(40, n_files - n_bundles - n_maps - n_bin - n_gz - n_nm)
    bundle_sizes = [int(min(rng.uniform(8, 20) * MiB, 0.04 * total)) for _ in range(n_bundles)]
    map_sizes = [int(min(rng.uniform(4, 12) * MiB, 0.03 * total)) for _ in range(n_maps)]
    bin_budget = int(0.22 * total)
    w = [loguniform(rng, 4096, 8 * MiB) for _ in range(n_bin)]
    bin_sizes = [max(512, min(32 * MiB, int(x * bin_budget / sum(w)))) for x in w]
    gz_sizes = [int(min(loguniform(rng, 200 * 1024, 3 * MiB), 0.01 * total)) for _ in range(n_gz)]  # uncompressed
    nm_sizes = [int(loguniform(rng, 300, 12 * 1024)) for _ in range(n_nm)]
    fixed = sum(bundle_sizes) + sum(map_sizes) + sum(bin_sizes) + sum(nm_sizes) + sum(gz_sizes) // 4
    src_budget = max(n_src * 2048, total - fixed)
    w = [rng.lognormvariate(0, 1.6) for _ in range(n_src)]
    src_sizes = [max(200, int(x * src_budget / sum(w))) for x in w]
    src_sizes = [min(s, 24 * MiB) for s in src_sizes]

    # ---- minified bundles (single line each)
    apps = ["web", "admin", "storefront", "checkout", "landing"]
    for i, size in enumerate(bundle_sizes):
        app = apps[i % len(apps)]
        rel = tree.unique("apps/%s/dist/assets/%s.%08x.min.js" % (app, rng.choice(["main", "vendor", "app", "chunk"]), rng.getrandbits(32)))
        parts, left = [b"!function(){"], size - 14
        while left > 0:
            n = min(left, rng.randint(64 * 1024, 1 * MiB))
            s = rng.randrange(len(mini) - n) if len(mini) > n else 0
            parts.append(mini[s:s + n])
            left -= n
        parts.append(b"}();\n")
        check_no_key(tree, rel, parts)
        if i == 0:
            k = keys[2]
            snip = ('var kl=document.createElement("script");kl.src="//static.klaviyo.com/onsite/js/klaviyo.js?company_id=%s";' % k).encode()
            mid = len(parts) // 2
            parts.insert(mid, b";" + snip)
            planted.append((k, rel, "minified bundle, klaviyo.js company_id (mid-line of a %d MB line)" % (size // MiB), "raw"))
        tree.write(rel, parts)

    # ---- source maps with sourcesContent
    for i, size in enumerate(map_sizes):
        app = apps[i % len(apps)]
        rel = tree.unique("apps/%s/dist/assets/main.%08x.js.map" % (app, rng.getrandbits(32)))
        sources, contents, n = [], [], 0
        while n < size * 0.7:
            kind = rng.choice(("js", "ts"))
            body = b"".join(bytes(c) for c in text_body(rng, corp[kind], rng.randint(2000, 60000)))
            src = body.decode()
            if i == 0 and len(contents) == 3:
                k = keys[3]
                src = "import { ApiKeySession } from 'klaviyo-api';\nconst session = new ApiKeySession(\"%s\");\n" % k + src
                planted.append((k, rel, "source map sourcesContent (JSON-escaped JS)", "raw"))
            sources.append("webpack:///./src/%s/%s.%s" % (tg.snake(rng, 1), tg.ident(rng), kind))
            contents.append(src)
            n += len(src)
        mp = []
        left = max(1024, size - n)
        while left > 0:
            c = min(left, len(maps_pool) // 2)
            s = rng.randrange(len(maps_pool) - c)
            mp.append(maps_pool[s:s + c])
            left -= c
        head = json.dumps({"version": 3, "file": os.path.basename(rel)[:-4], "sources": sources,
                           "sourcesContent": contents, "names": [tg.ident(rng) for _ in range(200)]})[:-1]
        parts = [head.encode(), b',"mappings":"', b"".join(mp), b'"}\n']
        tree.write(rel, parts)

    # ---- binaries and fake images
    for i, size in enumerate(bin_sizes):
        kind = rng.choice(["png", "png", "jpg", "jpg", "gif", "woff2", "wasm", "bin", "sqlite", "pdf"])
        d = {"png": "apps/web/public/img", "jpg": "assets/photos", "gif": "apps/admin/static/img",
             "woff2": "apps/storefront/public/fonts", "wasm": "packages/sdk/wasm", "bin": "data/blobs",
             "sqlite": "data/db", "pdf": "docs/pdf"}[kind]
        rel = tree.unique("%s/%s_%d.%s" % (d, tg.snake(rng, 2), i, kind))
        body = rng.randbytes(size)
        head = {"png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x04\x00\x00\x00\x03\x00\x08\x06\x00\x00\x00",
                "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
                "gif": b"GIF89a\x00\x04\x00\x03\xf7\x00\x00", "woff2": b"wOF2\x00\x01\x00\x00",
                "wasm": b"\x00asm\x01\x00\x00\x00", "bin": b"", "sqlite": b"SQLite format 3\x00",
                "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"}[kind]
        tail = {"png": b"\x00\x00\x00\x00IEND\xaeB`\x82", "jpg": b"\xff\xd9", "pdf": b"\n%%EOF\n"}.get(kind, b"")
        tree.write(rel, [head, body[len(head) + len(tail):], tail])

    # ---- gzip-precompressed text assets (real gzip, no keys inside)
    for i, size in enumerate(gz_sizes):
        rel = tree.unique("apps/%s/dist/assets/%s.%08x.js.gz" % (rng.choice(apps), rng.choice(["vendor", "chunk"]), rng.getrandbits(32)))
        parts = text_body(rng, corp["js"], size)
        check_no_key(tree, rel, parts)
        tree.write(rel, [gzip.compress(b"".join(bytes(p) for p in parts), compresslevel=6, mtime=0)])

    # ---- deep node_modules with many small files
    pkgs = ["lodash", "react", "react-dom", "axios", "express", "debug", "ms", "semver", "chalk",
            "commander", "yargs", "uuid", "dayjs", "@babel/core", "@babel/runtime", "@types/node",
            "webpack", "terser", "postcss", "tslib", "rxjs", "zod", "@acme/klaviyo-sync", "follow-redirects",
            "mime-types", "qs", "body-parser", "on-finished", "inherits", "safe-buffer"]
    nm_dirs = []
    for _ in range(max(20, n_nm // 12)):
        depth = min(8, 1 + int(rng.expovariate(0.7)))
        parts = ["node_modules"]
        for d in range(depth):
            parts.append(rng.choice(pkgs))
            if d < depth - 1:
                parts.append("node_modules")
        sub = rng.choice(["", "lib", "dist", "cjs", "esm", "lib/internal", "src/utils"])
        nm_dirs.append("/".join(parts + ([sub] if sub else [])))
    deep = max(nm_dirs, key=lambda p: (p.count("/"), p))
    for i, size in enumerate(nm_sizes):
        d = nm_dirs[rng.randrange(len(nm_dirs))]
        ext = rng.choice(["js", "js", "js", "d.ts", "json", "md", "mjs", "cjs", "map"])
        name = "package" if ext == "json" and rng.random() < 0.5 else tg.snake(rng, 1)
        rel = tree.unique("%s/%s.%s" % (d, name, ext))
        kind = {"d.ts": "ts", "mjs": "js", "cjs": "js", "map": "json"}.get(ext, ext)
        parts = text_body(rng, corp[kind], size)
        check_no_key(tree, rel, parts)
        tree.write(rel, parts)
    k = keys[4]
    rel = tree.unique("%s/klaviyo-config.js" % deep)
    tree.write(rel, [b"'use strict';\nmodule.exports = {\n  apiKey: '%s',\n  revision: '2024-10-15',\n};\n" % k.encode()])
    planted.append((k, rel, "deep node_modules file (depth %d)" % rel.count("node_modules"), "raw"))

    # ---- ordinary source files (the big ones last: fixtures and logs)
    src_sizes.sort()
    for i, size in enumerate(src_sizes):
        if size > 4 * MiB:
            kind = rng.choice(["json", "log", "sql"])
            d = {"json": "tests/fixtures", "log": "logs", "sql": "db/dumps"}[kind]
        else:
            kind = pick_weighted(rng, SRC_MIX)
            d = rng.choice(EXT_DIR_HINT.get(kind, SRC_DIRS))
        name = tg.snake(rng, rng.randint(1, 2))
        rel = tree.unique("%s/%s.%s" % (d, name, kind) if d != "." else "%s.%s" % (name, kind))
        parts = [HEADERS[kind]] + text_body(rng, corp[kind], size) + [FOOTERS.get(kind, b"")]
        check_no_key(tree, rel, parts)
        if i == len(src_sizes) - 1:
            k = keys[7]
            parts = insert_middle(parts, b"2024-06-01T10:00:00.000Z DEBUG [http] POST https://a.klaviyo.com/api/events headers={'Authorization': 'Klaviyo-API-Key %s'}\n" % k.encode(), 0.8)
            planted.append((k, rel, "line near 80%% of the largest text file (%d MB)" % (size // MiB), "raw"))
        elif i == len(src_sizes) // 2 and kind != "json":
            k = keys[1]
            line = b"    client = KlaviyoAPI(\"%s\", max_delay=60, max_retries=3)\n" % k.encode()
            rel2 = tree.unique("services/api/app/settings_klaviyo.py")
            tree.write(rel2, insert_middle([HEADERS["py"]] + text_body(rng, corp["py"], size), line))
            planted.append((k, rel2, "Python settings module, KlaviyoAPI(...) (mid-file)", "raw"))
        tree.write(rel, parts)

    # ---- small planted files
    k = keys[0]
    rel = tree.unique("apps/web/.env")
    tree.write(rel, [b"NODE_ENV=production\nSTRIPE_PUBLISHABLE_KEY=pk_test_%s\nKLAVIYO_PRIVATE_KEY=%s\nKLAVIYO_PUBLIC_KEY=AbC123\n" % (tg.rstr(rng, tg.ALNUM, 24).encode(), k.encode())])
    planted.append((k, rel, ".env file", "raw"))

    k = keys[8]
    rel = tree.unique("deploy/helm/values.yaml")
    tree.write(rel, [b"replicaCount: 2\nimage:\n  repository: acme/api\n  tag: \"1.4.2\"\nenv:\n  klaviyoApiKey: %s\n  region: us-east-1\n" % k.encode()])
    planted.append((k, rel, "Helm values, newer pk_XXXXXX_<34 hex> shape", "raw-newshape"))

    k = keys[5]
    rel = tree.unique("apps/storefront/public/index.html")
    body = text_body(rng, corp["html"], 20000)
    tree.write(rel, insert_middle([HEADERS["html"]] + body + [FOOTERS["html"]],
                                  b"<script async src=\"//static.klaviyo.com/onsite/js/klaviyo.js?company_id=%s\"></script>\n" % k.encode(), 0.3))
    planted.append((k, rel, "HTML klaviyo.js ?company_id=", "raw"))

    k = keys[6]
    rel = tree.unique("apps/checkout/src/analytics/track.js")
    payload = json.dumps({"token": k, "event": "Placed Order", "customer_properties": {"$email": "a@example.com"},
                          "properties": {"value": 42}}, separators=(",", ":")).encode()
    b64 = base64.b64encode(payload)
    body = text_body(rng, corp["js"], 15000)
    tree.write(rel, insert_middle([HEADERS["js"]] + body,
                                  b"  fetch('https://a.klaviyo.com/api/track?data=%s');\n" % b64, 0.5))
    planted.append((k, rel, "base64 ?data= of a legacy /api/track URL (only visible decoded)", "base64"))

    # ---- the planted list
    raw_old = sum(1 for p in planted if p[3] == "raw")
    with open(planted_path, "w") as f:
        f.write("# pkscan bench: keys planted by gen_tree.py (synthetic, random; never real keys)\n")
        f.write("# seed=%d size=%d files=%d bytes=%d\n" % (a.seed, total, tree.files, tree.bytes))
        f.write("# expected_rg_lines=%d  (rg -uuu -c 'pk_[A-Za-z0-9]{34}': raw keys of the 34-char shape, one per line)\n" % raw_old)
        f.write("# key\tsecret_sha256\tpath\tencoding\twhere\n")
        for k, rel, where, enc in planted:
            f.write("%s\t%s\t%s\t%s\t%s\n" % (k, hashlib.sha256(k.encode()).hexdigest(), rel, enc, where))
    print("gen_tree: %d files, %.1f MiB in %s (%.1f s); %d keys planted -> %s" % (
        tree.files, tree.bytes / MiB, out, time.time() - t0, len(planted), planted_path))


if __name__ == "__main__":
    main()
