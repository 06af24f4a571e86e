#!/usr/bin/env bash
# SCIM server benchmark (BENCHMARKS.md, "SCIM server"): `roster serve` (release) on SQLite,
# seeded with 100,000 users over SCIM, then wrk 4.1 with 16 connections on loopback, 10 s per
# scenario: filter by userName, pages of 100, PATCH, POST. The load generator shares the
# machine's cores with the server.
#
#   scripts/scim-bench.sh [USERS]      # needs wrk (apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/roster/target}"
users="${1:-100000}"
duration="${ROSTER_BENCH_DURATION:-10s}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet --locked -p roster --bin roster -p roster-bench --bin scim_seed
work="$(mktemp -d)"
export ROSTER_SCIM_TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export ROSTER_BENCH_USERS="$users" ROSTER_BENCH_IDS="$work/ids" ROSTER_WRK_DIR="$PWD/scripts/wrk"
ROSTER_SCIM_BOOTSTRAP_TOKEN="$ROSTER_SCIM_TOKEN" "$CARGO_TARGET_DIR/release/roster" serve \
  --listen 127.0.0.1:0 --database "sqlite://$work/roster.db" ${ROSTER_SERVE_ARGS:-} \
  >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 100); do
  url="$(grep -o -m1 'http://[^ "]*' "$work/serve.out" 2>/dev/null || true)"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "roster serve printed no URL" >&2; cat "$work/serve.err" >&2; exit 1; }
base="${url%/}"; base="${base%/scim/v2}"

echo "== seeding $users users"
"$CARGO_TARGET_DIR/release/scim_seed" --url "$base/scim/v2" --users "$users" --ids "$work/ids"
sleep 2
for scenario in filter list patch create; do
  echo "== $scenario: wrk -t2 -c16 -d$duration --latency"
  wrk -t2 -c16 -d"$duration" --latency -s "scripts/wrk/$scenario.lua" "$base"
  sleep 2
done
echo "server peak memory: $(grep VmHWM /proc/$server/status 2>/dev/null | awk '{print $2/1024 " MiB"}')"
