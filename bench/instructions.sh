#!/usr/bin/env bash
# Instructions per proxied request, under callgrind: a deterministic companion to
# bench/proxy.sh, whose req/s ratios swing by ±15% between runs on a shared 2-core VM.
# Palisade (one worker, its defaults unless PALISADE_ARGS says otherwise) runs under
# valgrind in front of the anchor upstream; after a warm-up the counters are zeroed, wrk
# sends the scenario for DUR seconds, and the instructions executed in Palisade (user space:
# proxy, parsing, inspection, allocator) are divided by the requests served.
#
#   bench/instructions.sh                       # get form json, release build
#   SCENARIOS=json DUR=15 bench/instructions.sh
#   PALISADE_ARGS="--mode off" bench/instructions.sh
#   NO_BUILD=1 bench/instructions.sh            # use target/release/palisade as it is
#
# Keeps each scenario's callgrind file (target/bench/callgrind-<scenario>.out) for
# `callgrind_annotate --inclusive=yes FILE` to see where the instructions go.
# Needs valgrind (apt-get install valgrind), wrk, and the anchors (../shared/anchors).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ANCHORS="${ANCHORS:-$ROOT/../shared/anchors}"
SCENARIOS="${SCENARIOS:-get form json}"
DUR="${DUR:-8}"
PORT="${PORT:-18091}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/palisade"
for t in valgrind callgrind_control wrk curl; do
  command -v "$t" >/dev/null || { echo "$t missing (apt-get install valgrind wrk curl)" >&2; exit 1; }
done
[ "${NO_BUILD:-0}" = 1 ] || (cd "$ROOT" && cargo build --release -q -p palisade)
"$ANCHORS/start.sh" upstream >/dev/null
mkdir -p "$ROOT/target/bench"
CONFIG="$(mktemp /tmp/palisade-instr.XXXXXX.toml)"
# one worker: every request is counted in the same thread, and the count does not depend
# on how connections were spread
"$BIN" default-config | sed 's/^workers = .*/workers = 1/' > "$CONFIG"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -f "$CONFIG"; }
trap cleanup EXIT

printf "%-6s %10s %16s\n" scenario requests "instructions/req"
for s in $SCENARIOS; do
  out="$ROOT/target/bench/callgrind-$s.out"
  rm -f "$out" "$out".*
  # shellcheck disable=SC2086
  PALISADE_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" serve \
    --config "$CONFIG" --listen "127.0.0.1:$PORT" --upstream http://127.0.0.1:18080 \
    ${PALISADE_ARGS:-} >/dev/null 2>&1 &
  PID=$!
  for _ in $(seq 240); do
    curl -s -o /dev/null -H 'Host: x' "http://127.0.0.1:$PORT/" && break
    sleep 0.5
  done
  wrk -t1 -c4 -d2s -s "$ANCHORS/wrk/scenario.lua" "http://127.0.0.1:$PORT" -- "$s" >/dev/null
  callgrind_control -z "$PID" >/dev/null 2>&1
  result="$(wrk -t1 -c4 -d"${DUR}s" -s "$ANCHORS/wrk/scenario.lua" "http://127.0.0.1:$PORT" -- "$s")"
  callgrind_control -d "$PID" >/dev/null 2>&1
  sleep 1
  kill -INT "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  n="$(echo "$result" | awk '/requests in/ {print $1}')"
  dump="$(ls -t "$out".* | head -1)"
  total="$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")"
  mv "$dump" "$out"; rm -f "$out".*
  printf "%-6s %10s %16s\n" "$s" "$n" "$((total / n))"
done
