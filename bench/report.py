#!/usr/bin/env python3
"""Helpers for bench/run.sh: hyperfine tables with ratios, planted-key checks.

  report.py table HYPERFINE.json BASELINE_NAME        mean/sd/min and ratio to baseline
  report.py pkscan PLANTED.txt REPORT.json MODE        MODE: tree | tree-nodecode | git | staged
  report.py rawkeys PLANTED.txt FILE...                how many planted keys appear verbatim (or as sha1)
  report.py rgcount PLANTED.txt RG_OUTPUT              rg -c total vs expected_rg_lines
  report.py pkkeys REPORT.json                         distinct keys (secret_sha256) and findings
  report.py anykeys FILE...                            distinct private-key-shaped tokens in the files
Standard library only.
"""
import hashlib
import json
import re
import sys


def load_planted(path):
    rows, meta = [], {}
    for ln in open(path):
        ln = ln.rstrip("\n")
        if ln.startswith("#"):
            for tok in ln[1:].split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    meta[k] = v
            continue
        if ln:
            rows.append(ln.split("\t"))
    return rows, meta


def table(path, base):
    d = json.load(open(path))
    res = d["results"]
    by = {r["command"]: r for r in res}
    b = by.get(base)
    w = max(len(r["command"]) for r in res)
    head = "| %-*s | %10s | %8s | %8s | %s |" % (w, "command", "mean (s)", "sd (s)", "min (s)", "vs " + base)
    print(head)
    print("|" + "-" * (w + 2) + "|" + "-" * 12 + "|" + "-" * 10 + "|" + "-" * 10 + "|" + "-" * (len(base) + 5) + "|")
    for r in res:
        ratio = "%.2fx" % (r["mean"] / b["mean"]) if b else "n/a"
        print("| %-*s | %10.3f | %8.3f | %8.3f | %s |" % (w, r["command"], r["mean"], r["stddev"] or 0.0, r["min"], ratio))


def pkscan(planted, report, mode):
    rows, meta = load_planted(planted)
    try:
        d = json.load(open(report))
    except Exception as e:  # noqa: BLE001
        print("  pkscan %s: report is not valid JSON (%s)" % (mode, e))
        return 1
    found = {(f.get("secret_sha256"), f.get("path", "")) for f in d.get("findings", [])}
    shas = {s for s, _ in found}
    want = []
    for r in rows:
        if mode.startswith("tree"):
            key, sha, path, enc = r[0], r[1], r[2], r[3]
            if mode == "tree-nodecode" and enc == "base64":
                continue
        else:
            key, sha, path, intro = r[0], r[1], r[2], r[3]
            if (mode == "staged") != (intro == "STAGED"):
                continue
        want.append((sha, path))
    ok = [w for w in want if any(s == w[0] and (p == w[1] or p.endswith("/" + w[1])) for s, p in found)]
    miss = [w for w in want if w not in ok]
    extra = len([f for f in d.get("findings", []) if f.get("secret_sha256") not in {w[0] for w in want}])
    print("  pkscan %-13s planted keys found: %d/%d (findings: %d, not planted: %d, errors: %s)" % (
        mode, len(ok), len(want), len(d.get("findings", [])), extra, d.get("summary", {}).get("errors")))
    for sha, path in miss:
        print("    MISSING %s (sha256 %s…)%s" % (path, sha[:12], " [key seen at another path]" if sha in shas else ""))
    return 0 if not miss else 1


def rawkeys(planted, files):
    rows, _ = load_planted(planted)
    keys = {r[0] for r in rows if len(r) > 3 and r[3] != "STAGED"}
    blob = b""
    for f in files:
        try:
            blob += open(f, "rb").read()
        except OSError:
            pass
    # verbatim, or as detect-secrets' hashed_secret (sha1 hex)
    n = sum(1 for k in keys if k.encode() in blob or hashlib.sha1(k.encode()).hexdigest().encode() in blob)
    print("%d/%d" % (n, len(keys)))


def rgcount(planted, out):
    _, meta = load_planted(planted)
    total = 0
    for ln in open(out, errors="replace"):
        ln = ln.rstrip("\n")
        if ":" in ln:
            try:
                total += int(ln.rsplit(":", 1)[1])
            except ValueError:
                pass
    exp = meta.get("expected_rg_lines", "?")
    print("  rg matching lines: %d (expected %s)%s" % (total, exp, "" if str(total) == exp else "  <-- MISMATCH"))


def pkkeys(report):
    d = json.load(open(report))
    shas = {f.get("secret_sha256") for f in d.get("findings", [])}
    print("%d distinct keys in %d findings (errors: %s)" % (len(shas), len(d.get("findings", [])),
                                                            d.get("summary", {}).get("errors")))


def anykeys(files):
    keys = set()
    for f in files:
        try:
            keys.update(KEY_RE.findall(open(f, "rb").read()))
        except OSError:
            pass
    print("%d distinct private-key-shaped tokens" % len(keys))


KEY_RE = re.compile(rb"(?<![A-Za-z0-9])pk_(?:[A-Za-z0-9]{34}|[A-Za-z0-9]{6}_[0-9a-f]{34})(?![A-Za-z0-9])")

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "table":
        table(sys.argv[2], sys.argv[3])
    elif cmd == "pkscan":
        sys.exit(pkscan(sys.argv[2], sys.argv[3], sys.argv[4]))
    elif cmd == "rawkeys":
        rawkeys(sys.argv[2], sys.argv[3:])
    elif cmd == "rgcount":
        rgcount(sys.argv[2], sys.argv[3])
    elif cmd == "pkkeys":
        pkkeys(sys.argv[2])
    elif cmd == "anykeys":
        anykeys(sys.argv[2:])
    else:
        sys.exit(__doc__)
