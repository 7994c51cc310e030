#!/usr/bin/env bash
# `pkscan repos` on many small generated repositories against the sum of `pkscan git` on
# each, in one run, with peak RSS from /usr/bin/time -v.
#   bench/repos.sh [COUNT]          default 200 repositories, --jobs 2
# Data goes to bench/data/repos-COUNT/ (git-ignored); same seed, same repositories.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200}
pkscan=${PKSCAN:-target/release/pkscan}
data=bench/data/repos-$count
if [ ! -d "$data" ]; then
  mkdir -p "$data"
  python3 - "$data" "$count" <<'PY'
import random, subprocess, sys, os
data, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(16)
def key():
    # A synthetic key: pk_ + 34 hex, generated here, never a real one.
    return "pk_" + "".join(rng.choice("0123456789abcdef") for _ in range(34))
env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com",
           GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com",
           GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
for i in range(count):
    repo = os.path.join(data, f"r{i:03}")
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True, env=env)
    stream = []
    for c in range(8):
        files = []
        for f in range(6):
            lines = [f"line {n} of file {f} in repo {i}: " + "x" * rng.randint(10, 80) for n in range(rng.randint(20, 200))]
            if rng.random() < 0.05:
                lines.insert(3, f'API_KEY = "{key()}"')
            body = "\n".join(lines) + "\n"
            files.append(f"M 644 inline src/m{f}/file{f}.py\ndata {len(body.encode())}\n{body}")
        msg = f"commit {c}\n"
        stream.append(f"commit refs/heads/main\ncommitter b <b@example.com> {1600000000 + c * 3600} +0000\n"
                      f"data {len(msg)}\n{msg}" + "".join(files))
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input="".join(stream).encode(), check=True, env=env)
PY
fi
list=$(ls -d "$data"/r*)
echo "machine: $(nproc) cores, $(uname -sr); pkscan $($pkscan --version); $count repositories in $data ($(du -sh "$data" | cut -f1))"
t0=$(date +%s.%N)
/usr/bin/time -v -o /tmp/pkscan-repos-time.txt "$pkscan" repos --jobs 2 --format json --output /tmp/pkscan-repos.json $list || [ $? -eq 1 ]
t1=$(date +%s.%N)
max_git_rss=0
for repo in $list; do
  /usr/bin/time -f %M -o /tmp/pkscan-git-rss.txt "$pkscan" git "$repo" --format json --output /tmp/pkscan-git.json || [ $? -eq 1 ]
  rss=$(tail -1 /tmp/pkscan-git-rss.txt); [ "$rss" -gt "$max_git_rss" ] && max_git_rss=$rss
done
t2=$(date +%s.%N)
rss=$(grep "Maximum resident" /tmp/pkscan-repos-time.txt | awk '{print $NF}')
python3 - "$t0" "$t1" "$t2" "$rss" "$max_git_rss" <<'PY'
import json, sys
t0, t1, t2, rss, git_rss = map(float, sys.argv[1:])
report = json.load(open("/tmp/pkscan-repos.json"))
print(f"pkscan repos --jobs 2: {t1 - t0:.2f} s, peak RSS {rss / 1024:.1f} MiB, "
      f"{len(report['findings'])} findings, {len(report['keys'])} keys, {len(report['errors'])} errors")
print(f"sum of pkscan git on each: {t2 - t1:.2f} s, largest peak RSS {git_rss / 1024:.1f} MiB")
print(f"ratio: {(t1 - t0) / (t2 - t1):.2f}")
PY
