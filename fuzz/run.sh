#!/usr/bin/env bash
# Runs every fuzz target for a chosen time each (default 600 s), on stable Rust without
# sanitizers: fuzz/run.sh [SECONDS] [TARGET...]. Crashes land in fuzz/artifacts/TARGET/;
# copy each one into tests as a regression input once it is fixed.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t for ${seconds}s"
  cargo fuzz run --sanitizer none "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=1024 2>&1 | grep -E '^(#[0-9]+ +(DONE|pulse)|==|SUMMARY|Done)' | tail -n 3
done
