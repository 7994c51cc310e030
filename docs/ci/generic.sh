#!/usr/bin/env bash
# pkscan in any CI: scan the checkout, keep a JSON report, print the findings, and exit
# 0 (clean), 1 (a leak at or above fail_on) or 2 (the scan could not be done).
# Run it from the repository root; .pkscan.toml there is read if present.
# Optional: PKSCAN_BASELINE=pkscan-baseline.json reports only findings not in that
# earlier report (write one with: pkscan scan . --format json --output pkscan-baseline.json).
set -uo pipefail

if ! command -v pkscan >/dev/null 2>&1; then
  cargo install --locked --git https://github.com/pkscan/pkscan pkscan || exit 2
fi

args=(scan .)
if [ -n "${PKSCAN_BASELINE:-}" ]; then
  args+=(--baseline "$PKSCAN_BASELINE")
fi

status=0
pkscan "${args[@]}" --format json --output pkscan.json || status=$?
case $status in
  0) echo "pkscan: no leaked keys (report: pkscan.json)" ;;
  1) pkscan "${args[@]}" --color never || true
     echo "pkscan: leaked keys found (report: pkscan.json)" >&2 ;;
  *) echo "pkscan: the scan could not be done (exit $status)" >&2 ;;
esac
exit "$status"
