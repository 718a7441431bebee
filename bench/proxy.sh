#!/usr/bin/env bash
# Palisade vs a plain nginx reverse proxy (and optionally nginx + ModSecurity + CRS) on the
# anchor scenarios (../shared/anchors/wrk/scenario.lua): GET with a query string, a 2 KB
# urlencoded form POST, a 20 KB JSON POST. Same upstream (nginx `return 200`), same wrk
# settings, one run; prints req/s, p50/p99 and the ratio to the plain proxy.
#
#   bench/proxy.sh                     # plain nginx vs Palisade (built-in signatures, block mode)
#   MODSEC=1 bench/proxy.sh            # also nginx + ModSecurity + CRS 4.28 at PL1 (slow: ~1 min more)
#   WRK_ARGS="-t2 -c64 -d10s" SCENARIOS="get form json" PALISADE_ARGS="--mode detect" bench/proxy.sh
#   NO_BUILD=1 bench/proxy.sh          # measure target/release/palisade as it is
#   BIN=target/pgo/release/palisade bench/proxy.sh   # a given binary (tools/pgo-build.sh)
#
# Writes a TSV to $OUT (default target/bench/proxy-<time>.tsv). Needs root for apt (first run).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ANCHORS="${ANCHORS:-$ROOT/../shared/anchors}"
SHARED_DATA="$(cd "$ANCHORS/../data" && pwd)"
WRK_ARGS="${WRK_ARGS:--t2 -c64 -d10s --timeout 30s}"
SCENARIOS="${SCENARIOS:-get form json}"
PORT_PALISADE="${PORT_PALISADE:-18090}"
mkdir -p "$ROOT/target/bench"
OUT="${OUT:-$ROOT/target/bench/proxy-$(date +%Y%m%d-%H%M%S).tsv}"
LUA="$ANCHORS/wrk/scenario.lua"

if [ "${MODSEC:-0}" = 1 ]; then export CRS4_DIR="$SHARED_DATA/crs"; fi
"$ANCHORS/setup.sh" >/dev/null
"$ANCHORS/start.sh" upstream plain >/dev/null
if [ "${MODSEC:-0}" = 1 ]; then PL=1 "$ANCHORS/start.sh" crs4 >/dev/null; fi

# NO_BUILD=1: use the release binary as it is; CARGO_TARGET_DIR is honoured as by cargo;
# BIN=path measures that binary (e.g. the profile-guided build of tools/pgo-build.sh)
if [ -z "${BIN:-}" ]; then
  [ "${NO_BUILD:-0}" = 1 ] || (cd "$ROOT" && cargo build --release -q -p palisade)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/palisade"
fi
LOG="$ROOT/target/bench/palisade.log"
PALISADE_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT_PALISADE" \
  --upstream http://127.0.0.1:18080 ${PALISADE_ARGS:-} >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT_PALISADE") 2>/dev/null && break; sleep 0.1; done

rss_of() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
run() { # label url scenario -> "rps p50 p99 non2xx sockerr"
  wrk $WRK_ARGS -s "$LUA" "$2" -- "$3" | grep '^RESULT' | sed 's/[a-z0-9_]*=//g' | cut -d' ' -f2-
}

targets="plain http://127.0.0.1:18081"$'\n'"palisade http://127.0.0.1:$PORT_PALISADE"
[ "${MODSEC:-0}" = 1 ] && targets+=$'\n'"modsec-crs4-pl1 http://127.0.0.1:18083"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared by wrk, proxy and upstream)"
printf 'target\tscenario\trps\tp50_ms\tp99_ms\tnon2xx\tsock_err\n' > "$OUT.raw"
while read -r label url; do
  wrk -t2 -c16 -d2s -s "$LUA" "$url" -- get >/dev/null   # warm-up
  for s in $SCENARIOS; do
    echo "running $label $s ..." >&2
    printf '%s\t%s\t%s\n' "$label" "$s" "$(run "$label" "$url" "$s" | tr ' ' '\t')" >> "$OUT.raw"
  done
done <<< "$targets"
echo "palisade RSS after the runs: $(rss_of $PID) MB"

awk -F'\t' -v OFS='\t' 'NR==FNR { if ($1=="plain") r[$2]=$3; next }
  FNR==1 { print $0, "rps_vs_plain"; next }
  { print $0, (r[$2] ? sprintf("%.3f", $3/r[$2]) : "-") }' "$OUT.raw" "$OUT.raw" > "$OUT"
rm -f "$OUT.raw"
column -t -s$'\t' "$OUT"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "TSV: $OUT (wrk $WRK_ARGS). non2xx > 0 on palisade = a benign request was blocked."
