#!/usr/bin/env bash
# Runs the PyPI conformance tester scim2-tester against `roster serve` on an empty SQLite
# database and fails if any check does not pass. Needs Python 3 with venv; installs the
# pinned tester into a cached virtual environment on first use.
#
#   scripts/scim-conformance.sh            # builds roster (debug) and runs the checks
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/roster/target}"
venv="${ROSTER_SCIM_VENV:-$HOME/.cache/roster/scim-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import scim2_tester" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-tester==0.5.2" "scim2-cli==0.6.0"
fi

cargo build --quiet --locked --workspace --bin roster
work="$(mktemp -d)"
token="conformance-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ROSTER_SCIM_BOOTSTRAP_TOKEN="$token" "$CARGO_TARGET_DIR/debug/roster" serve \
  --listen 127.0.0.1:0 --database "sqlite://$work/roster.db" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT

url=""
for _ in $(seq 1 100); do
  url="$(grep -o -m1 'http://[^ "]*' "$work/serve.out" 2>/dev/null || true)"
  [ -n "$url" ] && break
  if ! kill -0 $server 2>/dev/null; then
    echo "roster serve exited:" >&2; cat "$work/serve.err" >&2; exit 1
  fi
  sleep 0.1
done
[ -n "$url" ] || { echo "roster serve printed no URL" >&2; cat "$work/serve.err" >&2; exit 1; }
url="${url%/}"
case "$url" in */scim/v2) ;; *) url="$url/scim/v2" ;; esac

echo "scim2-tester 0.5.2 against $url"
ROSTER_SCIM_TOKEN="$token" "$venv/bin/python" scripts/scim_conformance.py "$url"
