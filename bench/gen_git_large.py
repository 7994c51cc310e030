#!/usr/bin/env python3
"""Generate a deterministic git history of large files edited a little at a time.

    python3 bench/gen_git_large.py --commits 20000 --out bench/data/large [--seed 13] [--force]

Python 3 standard library plus the `git` CLI (streamed into `git fast-import`,
then `git repack -adf --depth=250 --window=10`, so delta chains are long, as
after `git gc --aggressive`). Same seed and commit count -> the same commit ids.

The shape real application repositories have, and `gen_git.py` has not:
  * 600 files (scaled with --commits below 20,000), of which 24 are large
    (40-400 KB: a schema.sql, a CHANGELOG.md that grows at the top, a
    theme.liquid, a package-lock.json, generated API clients, fixtures), each
    edited in hundreds of commits, a few lines at a time;
  * the other files are ordinary source files of 1-30 KB, edited now and then;
  * each commit edits 1-2 files (a large one in about 1 of 9), by one of 8
    authors: about 25 KB of new file content per commit on average (about
    500 MB for 20,000 commits), 50-220 versions of each large file;
  * two feature branches merged back, one left unmerged, annotated tags every
    1,000 commits, `main` checked out, a small staged change.

Planted keys (synthetic random hex from the seeded RNG, never real keys),
listed in `<out>.planted.txt` with sha256, path and introducing commit:
  L1 config/settings.py: added at ~10% on main, removed 40 commits later;
  L2 db/schema.sql (a large file): an INSERT added at ~30%, kept to HEAD while
     the file keeps changing (one finding);
  L3 templates/theme.liquid (a large template): a klaviyo.js ?company_id= at
     ~55%, kept to HEAD;
  L4 vendor/analytics.bundle.js: only on the unmerged branch feature/vendor-bump;
  L5 staged only: services/api/klaviyo_client.py (for `pkscan git --staged`).
`pkscan git` must report 4 findings (L1-L4) and `pkscan git --staged` L5 only.
"""

import argparse
import hashlib
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textgen as tg  # noqa: E402

KB = 1024
MiB = 1 << 20
AUTHORS = [("Alice Moreau", "alice@acme.example"), ("Bob Tanaka", "bob@acme.example"),
           ("Carla Nunes", "carla@acme.example"), ("Dev Patel", "dev@acme.example"),
           ("Eve Schmidt", "eve@acme.example"), ("Femi Adeyemi", "femi@acme.example"),
           ("Gus Larsen", "gus@acme.example"), ("Hana Kim", "hana@acme.example")]
# (path, corpus kind, size): the large files every commit is most likely to touch
LARGE = [("db/schema.sql", "sql", 400), ("CHANGELOG.md", "md", 120), ("templates/theme.liquid", "html", 300),
         ("package-lock.json", "json", 380), ("yarn.lock", "yaml", 260), ("docs/api.md", "md", 200),
         ("apps/web/src/generated/api_client.ts", "ts", 240), ("services/api/app/models.py", "py", 160),
         ("tests/fixtures/orders.json", "json", 300), ("config/routes.rb", "rb", 90),
         ("apps/admin/src/store.js", "js", 140), ("services/billing/internal/invoice.go", "go", 110),
         ("apps/web/src/styles/main.css", "css", 180), ("db/seeds.sql", "sql", 220),
         ("templates/checkout.liquid", "html", 150), ("deploy/k8s/all.yaml", "yaml", 90),
         ("packages/sdk/src/api/endpoints.ts", "ts", 130), ("services/worker/lib/tasks.py", "py", 100),
         ("apps/storefront/src/pages/product.ts", "ts", 70), ("docs/guides/integrations.md", "md", 60),
         ("tests/unit/test_api.py", "py", 120), ("apps/web/src/components/app.js", "js", 90),
         ("config/locales/en.json", "json", 160), ("legacy/shop/app/models/order.rb", "rb", 40)]
SMALL_DIRS = {"js": "apps/web/src/lib", "ts": "packages/ui/src", "py": "services/api/app/views",
              "rb": "legacy/shop/lib", "go": "cmd/server", "json": "config/fixtures", "yaml": ".github/workflows",
              "md": "docs/notes", "css": "apps/web/src/styles/parts", "html": "docs/site", "sql": "db/migrations"}
KINDS = sorted(SMALL_DIRS)


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.mark = 0
        self.commits = 0
        self.t = 1546300800  # 2019-01-01T00:00:00Z
        self.corp = {k: tg.Sampler(tg.corpus(rng, k, 1 * MiB)) for k in KINDS}
        self.buf = []
        self.blob_bytes = 0
        self.seen = set()

    def lines(self, kind, size):
        out, n = [], 0
        while n < size:
            chunk = self.corp[kind].lines(self.rng, self.rng.randint(5, 40))
            out.extend(chunk.splitlines(keepends=True))
            n += len(chunk)
        return out

    def edit(self, path, kind, lines):
        """A few lines replaced somewhere; a changelog grows at the top instead."""
        rng = self.rng
        lines = list(lines)
        if path == "CHANGELOG.md":
            entry = [b"## %d.%d.%d\n" % (1 + self.commits // 1000, self.commits // 50 % 20, self.commits % 50), b"\n"]
            entry += self.corp["md"].lines(rng, rng.randint(2, 6)).splitlines(keepends=True) + [b"\n"]
            return entry + lines
        for _ in range(rng.randint(1, 3)):
            a = rng.randrange(len(lines) + 1)
            b = min(len(lines), a + rng.randint(0, 12))
            new = self.corp[kind].lines(rng, rng.randint(1, 14)).splitlines(keepends=True)
            # a fresh name in each new line, as real edits have: no line is a copy of one
            # the delta base already holds
            lines[a:b] = [ln.replace(b" ", b" %s " % tg.ident(rng).encode(), 1) for ln in new]
        return lines

    def commit(self, ref, parent, changes, msg, merge=None):
        rng = self.rng
        self.mark += 1
        self.commits += 1
        self.t += rng.randint(600, 14400)
        name, email = AUTHORS[rng.randrange(len(AUTHORS))]
        ident = b"%s <%s> %d +0000" % (name.encode(), email.encode(), self.t)
        self.buf.append(b"commit %s\nmark :%d\nauthor %s\ncommitter %s\n" % (ref.encode(), self.mark, ident, ident))
        self.data(msg.encode())
        if parent:
            self.buf.append(b"from :%d\n" % parent)
        if merge:
            self.buf.append(b"merge :%d\n" % merge)
        for p in sorted(changes):
            c = changes[p]
            if c is None:
                self.buf.append(b"D %s\n" % p.encode())
                continue
            self.buf.append(b"M 100644 inline %s\n" % p.encode())
            self.data(c)
            h = hashlib.sha1(c).digest()
            if h not in self.seen:
                self.seen.add(h)
                self.blob_bytes += len(c)
        self.buf.append(b"\n")
        return self.mark

    def data(self, b):
        self.buf += [b"data %d\n" % len(b), b, b"\n"]

    def tag(self, name, mark, msg):
        n, e = AUTHORS[0]
        self.buf.append(b"tag %s\nfrom :%d\ntagger %s <%s> %d +0000\n" % (name.encode(), mark, n.encode(), e.encode(), self.t))
        self.data(msg.encode())

    def message(self):
        rng = self.rng
        v = rng.choice(["Fix", "Add", "Update", "Refactor", "Remove", "Improve", "Bump", "Clean up"])
        return "%s %s %s\n" % (v, tg.snake(rng, 1).replace("_", " "), rng.choice(tg.WORDS))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--out", default="bench/data/large")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--planted", help="planted-keys list (default: <out>.planted.txt)")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    N = max(200, a.commits)
    out, planted_path = tg.prepare_out(a.out, a.planted, a.force)
    t0 = time.time()
    rng = random.Random(a.seed)
    g = Gen(rng)
    K = {i: tg.make_key(rng) for i in range(1, 6)}

    files = {}  # path -> (kind, lines)
    for path, kind, size in LARGE:
        files[path] = (kind, g.lines(kind, size * KB))
    n_small = max(40, round(576 * min(1.0, N / 20000)))
    while len(files) < len(LARGE) + n_small:
        kind = rng.choice(KINDS)
        path = "%s/%s.%s" % (SMALL_DIRS[kind], tg.snake(rng, rng.randint(1, 2)), kind)
        files.setdefault(path, (kind, g.lines(kind, int(min(30 * KB, max(1 * KB, rng.lognormvariate(7.9, 0.7)))))))
    large = [p for p, _, _ in LARGE]
    weights = [1.0 / (i + 6) for i in range(len(large))]
    small = sorted(p for p in files if p not in large)

    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=os.environ.get("HOME", "/tmp"))
    git = lambda *args: subprocess.run(["git", "-C", out] + list(args), check=True, env=env,
                                       stdout=subprocess.PIPE).stdout.decode()
    subprocess.run(["git", "init", "-q", "-b", "main", out], check=True, env=env)
    marks_file = out + ".marks"
    proc = subprocess.Popen(["git", "-C", out, "fast-import", "--quiet", "--depth=250", "--export-marks=" + marks_file],
                            stdin=subprocess.PIPE, env=env)

    def changes(state, keep=()):
        ch = {}
        for _ in range(rng.choice((1, 1, 1, 2))):
            if rng.random() < 0.09:
                p = rng.choices(large, weights)[0]
            else:
                p = rng.choice(small)
            if p in keep or p not in state:
                continue
            kind, lines = state[p]
            lines = g.edit(p, kind, lines)
            state[p] = (kind, lines)
            ch[p] = b"".join(lines)
        return ch or {small[0]: b"".join(state[small[0]][1]) + b"\n"}

    def insert(state, path, line):
        kind, lines = state[path]
        pos = len(lines) // 2
        state[path] = (kind, lines[:pos] + [line.encode()] + lines[pos:])
        return b"".join(state[path][1])

    head = g.commit("refs/heads/main", None, {p: b"".join(l) for p, (_, l) in files.items()}, "Initial import\n")
    marks = {}
    ev = {int(N * 0.10): "l1_add", int(N * 0.10) + min(40, N // 100): "l1_del", int(N * 0.30): "l2_add",
          int(N * 0.55): "l3_add", int(N * 0.40): "l4_branch", int(N * 0.25): "merge_a", int(N * 0.70): "merge_b"}
    tag_every = max(50, min(1000, N // 10))
    for i in range(1, N - 1):
        e = ev.get(i)
        ch, merge, msg = {}, None, g.message()
        if e == "l1_add":
            settings = g.lines("py", 6 * KB)
            settings.insert(len(settings) // 2, ('KLAVIYO_PRIVATE_KEY = "%s"\n' % K[1]).encode())
            files["config/settings.py"] = ("py", settings)
            ch["config/settings.py"] = b"".join(settings)
        elif e == "l1_del":
            kind, lines = files["config/settings.py"]
            lines = [ln if K[1].encode() not in ln else b'KLAVIYO_PRIVATE_KEY = os.environ["KLAVIYO_KEY"]\n' for ln in lines]
            files["config/settings.py"] = (kind, lines)
            ch["config/settings.py"] = b"".join(lines)
        elif e == "l2_add":
            ch["db/schema.sql"] = insert(files, "db/schema.sql", "INSERT INTO settings (name, value) VALUES ('klaviyo_api_key', '%s');\n" % K[2])
        elif e == "l3_add":
            ch["templates/theme.liquid"] = insert(files, "templates/theme.liquid",
                                                  '<script async src="https://static.klaviyo.com/onsite/js/klaviyo.js?company_id=%s"></script>\n' % K[3])
        elif e in ("merge_a", "merge_b", "l4_branch"):
            name = {"merge_a": "feature/search", "merge_b": "feature/checkout-v2", "l4_branch": "feature/vendor-bump"}[e]
            state = {p: v for p, v in files.items()}
            bm = head
            for j in range(rng.randint(8, 20)):
                c = changes(state)
                if e == "l4_branch" and j == 3:
                    body = g.lines("js", 20 * KB)
                    body.insert(len(body) // 2, ("  var klaviyoKey = '%s';\n" % K[4]).encode())
                    c["vendor/analytics.bundle.js"] = b"".join(body)
                    bm = g.commit("refs/heads/" + name, bm, c, "Bump vendored analytics bundle\n")
                    marks[4] = bm
                    continue
                bm = g.commit("refs/heads/" + name, bm, c, g.message())
            if e != "l4_branch":
                ch = {p: b"".join(v[1]) for p, v in state.items() if files.get(p) != v}
                files.update(state)
                merge, msg = bm, "Merge branch '%s'\n" % name
        if not ch:
            ch = changes(files, keep=("config/settings.py",))
        head = g.commit("refs/heads/main", head, ch, msg, merge=merge)
        if e in ("l1_add", "l1_del", "l2_add", "l3_add"):
            marks[{"l1_add": 1, "l1_del": -1, "l2_add": 2, "l3_add": 3}[e]] = head
        if i % tag_every == 0:
            g.tag("v2.%d.0" % (i // tag_every), head, "Release 2.%d.0\n" % (i // tag_every))
        if len(g.buf) > 4000:
            proc.stdin.write(b"".join(g.buf))
            g.buf = []
    proc.stdin.write(b"".join(g.buf))
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    git("repack", "-q", "-a", "-d", "-f", "--depth=250", "--window=10")
    git("checkout", "-q", "-f", "main")
    p = "services/api/klaviyo_client.py"
    os.makedirs(os.path.join(out, os.path.dirname(p)), exist_ok=True)
    with open(os.path.join(out, p), "w") as f:
        f.write('import os\n\nsession = KlaviyoAPI("%s", max_delay=60)\n' % K[5])
    git("add", p)

    ids = {}
    with open(marks_file) as f:
        for ln in f:
            m, sha = ln.split()
            ids[int(m[1:])] = sha
    os.unlink(marks_file)
    cid = lambda m: ids.get(m, "-") if m else "-"
    rows = [(K[1], "config/settings.py", cid(marks.get(1)), cid(marks.get(-1)), "main (history only)"),
            (K[2], "db/schema.sql", cid(marks.get(2)), "-", "main, large file, still at HEAD"),
            (K[3], "templates/theme.liquid", cid(marks.get(3)), "-", "main, large template, still at HEAD"),
            (K[4], "vendor/analytics.bundle.js", cid(marks.get(4)), "-", "feature/vendor-bump only (unmerged)"),
            (K[5], p, "STAGED", "-", "staged only (git --staged); not in any commit")]
    count = git("rev-list", "--all", "--count").strip()
    with open(planted_path, "w") as f:
        f.write("# pkscan bench: keys planted by gen_git_large.py (synthetic, random; never real keys)\n")
        f.write("# seed=%d commits=%s unique_blob_bytes=%d\n" % (a.seed, count, g.blob_bytes))
        f.write("# history findings expected: 4 (L1..L4); --staged expected: 1 (L5)\n")
        f.write("# key\tsecret_sha256\tpath\tintroduced_in\tremoved_in\tnote\n")
        for k, path, c1, c2, note in rows:
            f.write("%s\t%s\t%s\t%s\t%s\t%s\n" % (k, hashlib.sha256(k.encode()).hexdigest(), path, c1, c2, note))
    pack = [ln for ln in git("count-objects", "-vH").splitlines() if ln.startswith(("size-pack", "in-pack"))]
    print("gen_git_large: %s commits, %.1f MB unique blob content, %s in %s (%.1f s); planted -> %s" % (
        count, g.blob_bytes / 1e6, ", ".join(pack), out, time.time() - t0, planted_path))


if __name__ == "__main__":
    main()
