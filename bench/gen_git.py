#!/usr/bin/env python3
"""Generate a deterministic synthetic git history for the pkscan benchmark.

    python3 bench/gen_git.py --commits 20000 --out bench/data/git [--seed 11] [--force]

Python 3 standard library plus the `git` CLI; the history is streamed into
`git fast-import`, so 20,000 commits take about a minute.  Same seed and
commit count -> the same commit ids.

The repository (non-bare, branch `main` checked out):
  * N commits (default 20,000) by 8 authors, author dates one every 10 min to
    4 h from 2019-01-01 (UTC), each changing a few files of a growing tree of
    source files (JS, TS, Python, Ruby, Go, JSON, YAML, Markdown, CSS, HTML,
    SQL); the unique blob content totals about 25 KB per commit, i.e. about
    500 MB for 20,000 commits (--blob-mb to change it);
  * feature branches: about one every 2,500 commits, most merged back into
    main with a merge commit, one (`feature/klaviyo-sync`) left unmerged;
  * annotated tags `v1.<n>.0` about every 1,000 commits on main, and the tag
    `v0-experiment` on a commit that only that tag reaches.
  * a staged (not committed) change in the work tree, for `pkscan git --staged`.

Planted keys (synthetic random hex from the seeded RNG; never real keys), see
`<out>.planted.txt` for each key's sha256, path, introducing commit and refs:
  K1 config/settings.py, added at ~5% of the history on main, removed 40
     commits later (N/100 when N < 4000) (history only: HEAD is clean);
  K2 .env.production, added at ~30% on main and kept to HEAD (the file keeps
     changing: still one finding);
  K3 services/sync/klaviyo_sync.py, only on the unmerged branch
     feature/klaviyo-sync;
  K4 experiments/track.js, only in a commit reachable from tag v0-experiment;
  K5 the same key added to two paths in one commit at ~60% (apps/web/src/
     klaviyo.js and apps/web/public/index.html); removed from the .js 500
     commits later (N/10 for small N);
  K6 newer shape pk_XXXXXX_<34 hex>, deploy/k8s/secrets.yaml, introduced on a
     feature branch at ~80% and merged into main;
  K7 apps/web/dist/app.min.js (a ~500 KB single-line bundle), added at ~50%,
     file deleted 300 commits later (N/20 for small N);
  K8 staged only: services/api/klaviyo_client.py (new file, `git add`ed, never
     committed); only `pkscan git --staged` should report it.
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
KINDS = [("js", 22), ("ts", 18), ("py", 14), ("rb", 6), ("go", 8), ("json", 8),
         ("yaml", 6), ("md", 8), ("css", 4), ("html", 4), ("sql", 2)]
DIRS = {"js": ["apps/web/src", "apps/web/src/components", "apps/admin/src", "packages/ui/src", "scripts"],
        "ts": ["apps/storefront/src", "apps/storefront/src/pages", "packages/sdk/src", "packages/sdk/src/api"],
        "py": ["services/api/app", "services/api/app/views", "services/worker/lib", "tests/unit"],
        "rb": ["legacy/shop/app/models", "legacy/shop/lib"], "go": ["services/billing/internal", "cmd/server"],
        "json": ["config", "tests/fixtures"], "yaml": ["config", "deploy/k8s", ".github/workflows"],
        "md": ["docs", "docs/guides"], "css": ["apps/web/src/styles"], "html": ["apps/web/public", "docs/site"],
        "sql": ["db/migrations"]}


def pick(rng, mix):
    r = rng.uniform(0, sum(w for _, w in mix))
    for k, w in mix:
        r -= w
        if r <= 0:
            return k
    return mix[-1][0]


class Gen:
    def __init__(self, a, rng):
        self.rng = rng
        self.n = a.commits
        self.mark = 0
        self.t = 1546300800  # 2019-01-01T00:00:00Z
        self.corp = {k: tg.Sampler(tg.corpus(rng, k, 2 * MiB)) for k, _ in KINDS}
        self.mini = tg.minified_corpus(rng, 1 * MiB)
        self.buf = []
        self.blob_bytes = 0
        self.seen = set()
        self.commits = 0

    # ------------------------------------------------------------ content
    def new_file(self, kind, size):
        lines, n = [], 0
        s = self.corp[kind]
        while n < size:
            chunk = s.lines(self.rng, self.rng.randint(5, 40))
            lines.extend(chunk.splitlines(keepends=True))
            n += len(chunk)
        return lines

    def mutate(self, lines, kind):
        rng = self.rng
        lines = list(lines)
        for _ in range(rng.randint(1, 3)):
            a = rng.randrange(len(lines) + 1)
            b = min(len(lines), a + rng.randint(0, 12))
            new = self.corp[kind].lines(rng, rng.randint(1, 14)).splitlines(keepends=True)
            lines[a:b] = new
        return lines

    # ------------------------------------------------------------ stream
    def out(self, b):
        self.buf.append(b)

    def data(self, b):
        self.out(b"data %d\n" % len(b))
        self.out(b)
        self.out(b"\n")

    def commit(self, ref, parent, changes, msg, merge=None):
        """changes: {path: bytes or None (delete)}. Returns the new mark."""
        rng = self.rng
        self.mark += 1
        self.commits += 1
        self.t += rng.randint(600, 14400)
        name, email = AUTHORS[rng.randrange(len(AUTHORS))]
        ident = b"%s <%s> %d +0000" % (name.encode(), email.encode(), self.t)
        self.out(b"commit %s\nmark :%d\nauthor %s\ncommitter %s\n" % (ref.encode(), self.mark, ident, ident))
        self.data(msg.encode())
        if parent:
            self.out(b"from :%d\n" % parent)
        if merge:
            self.out(b"merge :%d\n" % merge)
        for p in sorted(changes):
            c = changes[p]
            if c is None:
                self.out(b"D %s\n" % p.encode())
            else:
                self.out(b"M 100644 inline %s\n" % p.encode())
                self.data(c)
                h = hashlib.sha1(c).digest()
                if h not in self.seen:
                    self.seen.add(h)
                    self.blob_bytes += len(c)
        self.out(b"\n")
        return self.mark

    def tag(self, name, mark, msg):
        name_, email = AUTHORS[0]
        self.out(b"tag %s\nfrom :%d\ntagger %s <%s> %d +0000\n" % (name.encode(), mark, name_.encode(), email.encode(), self.t))
        self.data(msg.encode())

    def flush(self, proc):
        proc.stdin.write(b"".join(self.buf))
        self.buf = []

    def message(self):
        rng = self.rng
        v = rng.choice(["Fix", "Add", "Update", "Refactor", "Remove", "Improve", "Bump", "Clean up"])
        s = "%s %s %s" % (v, tg.snake(rng, 1).replace("_", " "), rng.choice(tg.WORDS))
        if rng.random() < 0.3:
            s += "\n\n" + " ".join(rng.choice(tg.WORDS) for _ in range(rng.randint(8, 30))) + ".\n"
        return s + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--out", default="bench/data/git")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--blob-mb", type=float, help="target unique blob content in MB (default ~20 KB per commit, which lands at ~25 KB after whole-file overshoot)")
    ap.add_argument("--planted", help="planted-keys list (default: <out>.planted.txt)")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    N = max(200, a.commits)
    out, planted_path = tg.prepare_out(a.out, a.planted, a.force)
    t0 = time.time()
    target = int((a.blob_mb * 1e6) if a.blob_mb else 20200 * N)  # ~500 MB for 20,000 (whole-file overshoot included)

    rng = random.Random(a.seed)
    g = Gen(a, rng)
    K = {i: tg.make_key(rng) for i in range(1, 9)}
    K[6] = tg.make_key(rng, new_shape=True)

    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=os.environ.get("HOME", "/tmp"))
    subprocess.run(["git", "init", "-q", "-b", "main", out], check=True, env=env)
    marks_file = out + ".marks"
    proc = subprocess.Popen(["git", "-C", out, "fast-import", "--quiet", "--export-marks=" + marks_file],
                            stdin=subprocess.PIPE, env=env)

    # initial tree
    n_files = max(60, round(1500 * N / 20000))
    files = {}  # path -> (kind, lines)
    for i in range(n_files):
        kind = pick(rng, KINDS)
        path = "%s/%s.%s" % (rng.choice(DIRS[kind]), tg.snake(rng, rng.randint(1, 2)), kind)
        if path in files:
            continue
        files[path] = (kind, g.new_file(kind, int(max(300, min(200 * KB, rng.lognormvariate(8.8, 0.9))))))
    main_files = dict(files)
    head = g.commit("refs/heads/main", None, {p: b"".join(l) for p, (k, l) in main_files.items()}, "Initial import\n")
    planted = []  # (key, path, intro_mark, removed_mark, refs, note)

    def key_file(kind, key_line, size=6000):
        lines = g.new_file(kind, size)
        pos = len(lines) // 2
        return lines[:pos] + [key_line.encode()] + lines[pos:]

    def regular_changes(state, budget):
        ch, n = {}, 0
        paths = sorted(state)
        hot = paths[: max(5, len(paths) // 10)]
        while n < budget or not ch:
            p = rng.choice(hot) if rng.random() < 0.6 else rng.choice(paths)
            kind, lines = state[p]
            if p.startswith(("experiments/", "deploy/k8s/secrets", ".env", "apps/web/dist/")) or p in protected:
                continue
            lines = g.mutate(lines, kind)
            state[p] = (kind, lines)
            ch[p] = b"".join(lines)
            n += len(ch[p])
        r = rng.random()
        if r < 0.03:
            kind = pick(rng, KINDS)
            p = "%s/%s_%d.%s" % (rng.choice(DIRS[kind]), tg.snake(rng, 1), g.mark, kind)
            state[p] = (kind, g.new_file(kind, int(rng.lognormvariate(8.5, 0.8))))
            ch[p] = b"".join(state[p][1])
        elif r < 0.04 and len(paths) > 40:
            p = rng.choice(paths)
            if p not in protected and not p.startswith((".env", "apps/web/dist/", "deploy/k8s/secrets")):
                del state[p]
                ch[p] = None
        return ch

    protected = set()
    branches = []  # (fork_at, length, name, merge_after)
    nb = max(2, N // 2500)
    for b in range(nb):
        fork = int(N * (b + 0.5) / nb)
        branches.append((fork, rng.randint(5, 25), "feature/%s" % tg.snake(rng, 2).replace("_", "-"), rng.randint(20, 200)))
    ev = {  # commit index on main -> event
        int(N * 0.05): "k1_add", int(N * 0.05) + min(40, N // 100): "k1_del", int(N * 0.30): "k2_add",
        int(N * 0.50): "k7_add", int(N * 0.50) + min(300, N // 20): "k7_del", int(N * 0.60): "k5_add",
        int(N * 0.60) + min(500, N // 10): "k5_del_js", int(N * 0.40): "k3_branch", int(N * 0.45): "k4_tag",
        int(N * 0.80): "k6_branch",
    }
    pending_merges = {}  # main index -> (branch_mark, branch_state_changes, name)
    k_marks = {}
    tag_every = max(50, min(1000, N // 10))
    i = 1
    while i < N - 1:
        remaining = max(1, N - g.commits)
        budget = int(max(0, target - g.blob_bytes) / remaining * rng.uniform(0.3, 1.7))
        e = ev.get(i)
        ch = regular_changes(main_files, budget) if e not in ("k1_add", "k2_add", "k5_add", "k7_add") else {}
        if e == "k1_add":
            protected.add("config/settings.py")
            main_files["config/settings.py"] = ("py", key_file("py", 'KLAVIYO_PRIVATE_KEY = "%s"\n' % K[1]))
            ch["config/settings.py"] = b"".join(main_files["config/settings.py"][1])
        elif e == "k1_del":
            kind, lines = main_files["config/settings.py"]
            lines = [ln if K[1].encode() not in ln else b'KLAVIYO_PRIVATE_KEY = os.environ["KLAVIYO_PRIVATE_KEY"]\n' for ln in lines]
            main_files["config/settings.py"] = (kind, lines)
            ch["config/settings.py"] = b"".join(lines)
        elif e == "k2_add":
            lines = [b"NODE_ENV=production\n", b"DATABASE_URL=postgres://app@db/app\n",
                     b"KLAVIYO_PRIVATE_KEY=%s\n" % K[2].encode(), b"KLAVIYO_PUBLIC_KEY=AbC123\n"]
            main_files[".env.production"] = ("env", lines)
            ch[".env.production"] = b"".join(lines)
        elif e == "k7_add":
            body = bytearray(b"!function(){")
            while len(body) < 500 * KB:
                s = rng.randrange(len(g.mini) - 65536)
                body += g.mini[s:s + 65536]
            mid = len(body) // 2
            body[mid:mid] = ('var kl="//static.klaviyo.com/onsite/js/klaviyo.js?company_id=%s";' % K[7]).encode()
            body += b"}();\n"
            main_files["apps/web/dist/app.min.js"] = ("min", [bytes(body)])
            ch["apps/web/dist/app.min.js"] = bytes(body)
        elif e == "k7_del":
            del main_files["apps/web/dist/app.min.js"]
            ch["apps/web/dist/app.min.js"] = None
        elif e == "k5_add":
            protected.update(["apps/web/src/klaviyo.js", "apps/web/public/index.html"])
            main_files["apps/web/src/klaviyo.js"] = ("js", key_file("js", "  window.__klKey = '%s';\n" % K[5], 3000))
            main_files["apps/web/public/index.html"] = ("html", key_file(
                "html", '<script src="//static.klaviyo.com/onsite/js/klaviyo.js?company_id=%s"></script>\n' % K[5], 4000))
            for p in ("apps/web/src/klaviyo.js", "apps/web/public/index.html"):
                ch[p] = b"".join(main_files[p][1])
        elif e == "k5_del_js":
            kind, lines = main_files["apps/web/src/klaviyo.js"]
            lines = [ln if K[5].encode() not in ln else b"  window.__klKey = 'AbC123';\n" for ln in lines]
            main_files["apps/web/src/klaviyo.js"] = (kind, lines)
            ch["apps/web/src/klaviyo.js"] = b"".join(lines)
        if ".env.production" in main_files and rng.random() < 0.01:  # K2 file keeps changing, key stays
            kind, lines = main_files[".env.production"]
            lines = lines + [b"FEATURE_%s=%d\n" % (tg.snake(rng, 1).upper().encode(), rng.randint(0, 1))]
            main_files[".env.production"] = (kind, lines)
            ch[".env.production"] = b"".join(lines)

        merge = pending_merges.pop(i, None)
        if merge:
            bmark, bch, bname = merge
            for p, c in bch.items():
                if p not in ch:
                    ch[p] = c
                    if c is None:
                        main_files.pop(p, None)
                    else:
                        kind = main_files[p][0] if p in main_files else p.rsplit(".", 1)[-1]
                        main_files[p] = (kind if kind in g.corp else "yaml", c.splitlines(keepends=True))
            head = g.commit("refs/heads/main", head, ch, "Merge branch '%s'\n" % bname, merge=bmark)
        else:
            head = g.commit("refs/heads/main", head, ch, g.message())
        for key_ev, kid in (("k1_add", 1), ("k1_del", -1), ("k2_add", 2), ("k7_add", 7), ("k7_del", -7),
                            ("k5_add", 5), ("k5_del_js", -5)):
            if e == key_ev:
                k_marks[kid] = head
        if i % tag_every == 0:
            g.tag("v1.%d.0" % (i // tag_every), head, "Release 1.%d.0\n" % (i // tag_every))

        # side histories forked here
        for fork, length, name, after in branches:
            if fork != i:
                continue
            state = dict(main_files)
            bmark, bch = head, {}
            for j in range(length):
                c = regular_changes(state, 25 * KB)
                bch.update(c)
                bmark = g.commit("refs/heads/" + name, bmark, c, g.message())
            merge_at = min(N - 2, i + after)
            while merge_at in pending_merges or merge_at in ev:
                merge_at += 1
            pending_merges[merge_at] = (bmark, bch, name)
        if e == "k3_branch":
            state = dict(main_files)
            p = "services/sync/klaviyo_sync.py"
            state[p] = ("py", key_file("py", 'client = KlaviyoAPI("%s", max_delay=60, max_retries=3)\n' % K[3]))
            bm = g.commit("refs/heads/feature/klaviyo-sync", head, {p: b"".join(state[p][1])}, "WIP: klaviyo sync\n")
            k_marks[3] = bm
            for j in range(5):
                bm = g.commit("refs/heads/feature/klaviyo-sync", bm, regular_changes(state, 25 * KB), g.message())
        if e == "k4_tag":
            p = "experiments/track.js"
            body = key_file("js", "  fetch('https://a.klaviyo.com/api/track', { method: 'POST', body: JSON.stringify({ token: '%s', event: 'Viewed' }) });\n" % K[4], 3000)
            bm = g.commit("refs/heads/tmp-experiment", head, {p: b"".join(body)}, "Experiment: client-side tracking\n")
            k_marks[4] = bm
            g.tag("v0-experiment", bm, "Tracking experiment (abandoned)\n")
        if e == "k6_branch":
            state = dict(main_files)
            p = "deploy/k8s/secrets.yaml"
            content = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: klaviyo\nstringData:\n  KLAVIYO_API_KEY: %s\n" % K[6]).encode()
            bm = g.commit("refs/heads/feature/k8s-secrets", head, {p: content}, "Add k8s secrets for klaviyo\n")
            k_marks[6] = bm
            bm = g.commit("refs/heads/feature/k8s-secrets", bm, regular_changes(state, 25 * KB), g.message())
            merge_at = i + 10
            while merge_at in pending_merges or merge_at in ev:
                merge_at += 1
            pending_merges[merge_at] = (bm, {p: content}, "feature/k8s-secrets")
        if len(g.buf) > 2000:
            g.flush(proc)
        i += 1
    g.flush(proc)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")

    git = lambda *args: subprocess.run(["git", "-C", out] + list(args), check=True, env=env,
                                       stdout=subprocess.PIPE).stdout.decode()
    git("update-ref", "-d", "refs/heads/tmp-experiment")
    git("checkout", "-q", "-f", "main")
    # staged change for `pkscan git --staged`
    p = "services/api/klaviyo_client.py"
    os.makedirs(os.path.join(out, os.path.dirname(p)), exist_ok=True)
    with open(os.path.join(out, p), "wb") as f:
        f.write(b"".join(key_file("py", 'session = KlaviyoAPI("%s", max_delay=60)\n' % K[8], 2000)))
    victim = sorted(x for x in main_files if x.endswith(".py") and x not in protected)[0]
    with open(os.path.join(out, victim), "ab") as f:
        f.write(b"\n# staged edit: retry budget\nRETRY_BUDGET = 3\n")
    git("add", p, victim)

    marks = {}
    with open(marks_file) as f:
        for ln in f:
            m, sha = ln.split()
            marks[int(m[1:])] = sha
    os.unlink(marks_file)
    cid = lambda m: marks.get(m, "-") if m else "-"
    rows = [
        (K[1], "config/settings.py", cid(k_marks.get(1)), cid(k_marks.get(-1)), "main (history only)"),
        (K[2], ".env.production", cid(k_marks.get(2)), "-", "main, still at HEAD"),
        (K[3], "services/sync/klaviyo_sync.py", cid(k_marks.get(3)), "-", "feature/klaviyo-sync only (unmerged)"),
        (K[4], "experiments/track.js", cid(k_marks.get(4)), "-", "tag v0-experiment only"),
        (K[5], "apps/web/src/klaviyo.js", cid(k_marks.get(5)), cid(k_marks.get(-5)), "main; same key also in index.html"),
        (K[5], "apps/web/public/index.html", cid(k_marks.get(5)), "-", "main, still at HEAD"),
        (K[6], "deploy/k8s/secrets.yaml", cid(k_marks.get(6)), "-", "feature/k8s-secrets, merged into main (newer key shape)"),
        (K[7], "apps/web/dist/app.min.js", cid(k_marks.get(7)), cid(k_marks.get(-7)), "main, 500 KB one-line bundle (history only)"),
        (K[8], p, "STAGED", "-", "staged only (git --staged); not in any commit"),
    ]
    count = git("rev-list", "--all", "--count").strip()
    objs = git("count-objects", "-vH")
    with open(planted_path, "w") as f:
        f.write("# pkscan bench: keys planted by gen_git.py (synthetic, random; never real keys)\n")
        f.write("# seed=%d commits=%s unique_blob_bytes=%d\n" % (a.seed, count, g.blob_bytes))
        f.write("# history findings expected: 8 (K1..K7, K5 in two paths); --staged expected: 1 (K8)\n")
        f.write("# key\tsecret_sha256\tpath\tintroduced_in\tremoved_in\tnote\n")
        for k, path, c1, c2, note in rows:
            f.write("%s\t%s\t%s\t%s\t%s\t%s\n" % (k, hashlib.sha256(k.encode()).hexdigest(), path, c1, c2, note))
    pack = [ln for ln in objs.splitlines() if ln.startswith(("size-pack", "count", "in-pack"))]
    print("gen_git: %s commits, %.1f MB unique blob content, %s in %s (%.1f s); planted -> %s" % (
        count, g.blob_bytes / 1e6, ", ".join(pack), out, time.time() - t0, planted_path))


if __name__ == "__main__":
    main()
