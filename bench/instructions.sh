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
#   BIN=target/pgo/release/palisade bench/instructions.sh   # a given binary
#   CACHE_SIM=1 bench/instructions.sh           # also simulated L1 instruction/data misses
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
for t in valgrind callgrind_control wrk curl; do
  command -v "$t" >/dev/null || { echo "$t missing (apt-get install valgrind wrk curl)" >&2; exit 1; }
done
# BIN=path: measure that binary, build nothing
if [ -z "${BIN:-}" ]; then
  [ "${NO_BUILD:-0}" = 1 ] || (cd "$ROOT" && cargo build --release -q -p palisade)
  BIN="$TARGET/release/palisade"
fi
"$ANCHORS/start.sh" upstream >/dev/null
mkdir -p "$ROOT/target/bench"
CONFIG="$(mktemp /tmp/palisade-instr.XXXXXX.toml)"
# one worker: every request is counted in the same thread, and the count does not depend
# on how connections were spread
"$BIN" default-config | sed 's/^workers = .*/workers = 1/' > "$CONFIG"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -f "$CONFIG"; }
trap cleanup EXIT

if [ "${CACHE_SIM:-0}" = 1 ]; then
  printf "%-6s %10s %16s %13s %13s\n" scenario requests "instructions/req" "I1-miss/req" "D1-miss/req"
else
  printf "%-6s %10s %16s\n" scenario requests "instructions/req"
fi
for s in $SCENARIOS; do
  out="$ROOT/target/bench/callgrind-$s.out"
  rm -f "$out" "$out".*
  # shellcheck disable=SC2086,SC2046
  PALISADE_LOG=warn valgrind --tool=callgrind $( [ "${CACHE_SIM:-0}" = 1 ] && echo --cache-sim=yes ) \
    --callgrind-out-file="$out" "$BIN" serve \
    --config "$CONFIG" --listen "127.0.0.1:$PORT" --upstream http://127.0.0.1:18080 \
    ${PALISADE_ARGS:-} >/dev/null 2>&1 &
  PID=$!
  for _ in $(seq 600); do
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
  if [ "${CACHE_SIM:-0}" = 1 ]; then
    # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw (simulated caches)
    misses="$(awk -v n="$n" '/^(summary|totals):/ {printf "%d %d", $5/n, ($6+$7)/n; exit}' "$out")"
    printf "%-6s %10s %16s %13s %13s\n" "$s" "$n" "$((total / n))" $misses
  else
    printf "%-6s %10s %16s\n" "$s" "$n" "$((total / n))"
  fi
done
