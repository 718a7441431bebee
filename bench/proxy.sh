#!/usr/bin/env bash
# Palisade vs a plain nginx reverse proxy (and optionally nginx + ModSecurity + CRS) on the
# anchor scenarios (../shared/anchors/wrk/scenario.lua): GET with a query string, a 2 KB
# urlencoded form POST, a 20 KB JSON POST; and with SCENARIOS="... mixed" the benign corpus
# replayed request by request (bench/mixed.lua). Same upstream (nginx `return 200`), same
# wrk settings; prints req/s, p50/p99 and the ratio to the plain proxy.
#
# The ratio is taken per round: each round runs every target on a scenario back to back
# (the order reversed every other round, so that a drift of the shared VM does not favour
# one side), and the summary gives each target's median over ROUNDS rounds (default 3) with
# the median of its per-round ratios. A single pair of 10 s runs, half a minute apart,
# swung by +-15% on this 2-core VM: the rounds are what makes the ratio a measurement.
#
#   bench/proxy.sh                     # plain nginx vs Palisade (built-in signatures, block mode)
#   MODSEC=1 bench/proxy.sh            # also nginx + ModSecurity + CRS 4.28 at PL1 (slow: ~1 min more)
#   WRK_ARGS="-t2 -c64 -d10s" SCENARIOS="get form json" PALISADE_ARGS="--mode detect" bench/proxy.sh
#   NO_BUILD=1 bench/proxy.sh          # measure target/release/palisade as it is
#   ROUNDS=1 bench/proxy.sh            # one run per target and scenario (quick look)
#   BIN=target/pgo/release/palisade bench/proxy.sh   # a given binary (tools/pgo-build.sh)
#   CEILING=1 bench/proxy.sh           # also the same Palisade with `--mode off` (no inspection)
#
# CEILING=1 runs a second instance of the binary, with PALISADE_ARGS (which must not set
# --mode) and `--mode off` (rules loaded, nothing inspected), as one more target in every
# round: the proxy path's own req/s, which no inspecting configuration of that binary can
# exceed. With MODSEC=1 the summary then says, per scenario, what fraction of plain nginx
# 50x ModSecurity's req/s is and what the proxy path reaches in the same rounds.
#
# Writes a TSV to $OUT (default target/bench/proxy-<time>.tsv). Needs root for apt (first run).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ANCHORS="${ANCHORS:-$ROOT/../shared/anchors}"
SHARED_DATA="$(cd "$ANCHORS/../data" && pwd)"
WRK_ARGS="${WRK_ARGS:--t2 -c64 -d10s --timeout 30s}"
SCENARIOS="${SCENARIOS:-get form json}"
ROUNDS="${ROUNDS:-3}"
PORT_PALISADE="${PORT_PALISADE:-18090}"
PORT_CEILING="${PORT_CEILING:-18092}"
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
PID_OFF=""
trap 'kill $PID $PID_OFF 2>/dev/null || true' EXIT
if [ "${CEILING:-0}" = 1 ]; then
  # shellcheck disable=SC2086
  PALISADE_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT_CEILING" \
    --upstream http://127.0.0.1:18080 ${PALISADE_ARGS:-} --mode off >"$LOG.off" 2>&1 &
  PID_OFF=$!
fi
for port in "$PORT_PALISADE" ${PID_OFF:+"$PORT_CEILING"}; do
  up=0
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && up=1 && break; sleep 0.1; done
  [ "$up" = 1 ] || { echo "palisade did not listen on port $port (see $LOG, $LOG.off)" >&2; exit 1; }
done

rss_of() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
# Scenario "mixed": the benign corpus (corpus/benign, 714 requests of 13 kinds), every
# request in turn, as varied traffic arrives (bench/mixed.lua); the three anchor scenarios
# repeat one request, which lets a WAF's caches keep everything they need.
MIXED="$ROOT/target/bench/mixed.req"
case " $SCENARIOS " in *" mixed "*) python3 "$ROOT/bench/corpus_requests.py" "$ROOT/corpus/benign" >"$MIXED" ;; esac
# A process's CPU time so far (user + system, clock ticks), from /proc/PID/stat.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS_PER_S=$(getconf CLK_TCK)
run() { # label url scenario -> "rps p50 p99 non2xx sockerr cpu_us"
  if [ "$3" = mixed ]; then set -- "$1" "$2" "$MIXED" "$ROOT/bench/mixed.lua"; else set -- "$1" "$2" "$3" "$LUA"; fi
  local before out requests cpu_us=- pid=""
  case "$1" in palisade) pid=$PID ;; palisade-off) pid=$PID_OFF ;; esac
  if [ -n "$pid" ]; then before=$(cpu_ticks "$pid"); fi
  out=$(wrk $WRK_ARGS -s "$4" "$2" -- "$3")
  # cpu_us: Palisade's CPU time (its threads, kernel included) per request it served,
  # in µs. Unlike req/s it does not move with what wrk and the upstream get of the shared
  # cores, so it shows a change's effect with less noise.
  requests=$(echo "$out" | awk '/requests in/{print $1; exit}')
  if [ -n "$pid" ] && [ "${requests:-0}" -gt 0 ]; then
    cpu_us=$(awk -v t="$(( $(cpu_ticks "$pid") - before ))" -v n="$requests" -v hz="$TICKS_PER_S" \
      'BEGIN{printf "%.1f", t / hz * 1e6 / n}')
  fi
  echo "$(echo "$out" | grep '^RESULT' | sed 's/[a-z0-9_]*=//g' | cut -d' ' -f2-) $cpu_us"
}

targets=("plain http://127.0.0.1:18081" "palisade http://127.0.0.1:$PORT_PALISADE")
[ "${MODSEC:-0}" = 1 ] && targets+=("modsec-crs4-pl1 http://127.0.0.1:18083")
if [ -n "$PID_OFF" ]; then targets+=("palisade-off http://127.0.0.1:$PORT_CEILING"); fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared by wrk, proxy and upstream)"
for t in "${targets[@]}"; do   # warm-up: connections, caches, lazy automata
  wrk -t2 -c16 -d2s -s "$LUA" "${t#* }" -- get >/dev/null
done
printf 'round\ttarget\tscenario\trps\tp50_ms\tp99_ms\tnon2xx\tsock_err\tcpu_us\n' > "$OUT.raw"
for round in $(seq "$ROUNDS"); do
  order=("${targets[@]}")
  if [ $((round % 2)) = 0 ]; then   # every other round the other way round
    order=(); for ((k = ${#targets[@]} - 1; k >= 0; k--)); do order+=("${targets[$k]}"); done
  fi
  for s in $SCENARIOS; do
    for t in "${order[@]}"; do
      label="${t%% *}" url="${t#* }"
      echo "round $round: $label $s ..." >&2
      printf '%s\t%s\t%s\t%s\n' "$round" "$label" "$s" "$(run "$label" "$url" "$s" | tr ' ' '\t')" >> "$OUT.raw"
    done
  done
done
echo "palisade RSS after the runs: $(rss_of $PID) MB"

# Per target and scenario: the medians of req/s, p50, p99 over the rounds, the sums of
# non-2xx and socket errors, each round's ratio to the plain proxy in the same round, and
# the median of those ratios (the figure to quote).
python3 - "$OUT.raw" "$OUT" "$OUT.ceiling" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
plain = {(r["round"], r["scenario"]): float(r["rps"]) for r in rows if r["target"] == "plain"}
modsec = {(r["round"], r["scenario"]): float(r["rps"]) for r in rows if r["target"].startswith("modsec")}
keys = []
for r in rows:
    if (r["target"], r["scenario"]) not in keys:
        keys.append((r["target"], r["scenario"]))
with open(sys.argv[2], "w") as out:
    out.write("target\tscenario\trounds\trps\tp50_ms\tp99_ms\tnon2xx\tsock_err\tcpu_us\trps_vs_plain\tratios"
              + ("\trps_vs_modsec" if modsec else "") + "\n")
    for target, scenario in sorted(keys, key=lambda k: (k[0] != "plain", k[0] != "palisade", k[0])):
        mine = [r for r in rows if (r["target"], r["scenario"]) == (target, scenario)]
        med = lambda f: statistics.median(float(r[f]) for r in mine)
        ratios = [float(r["rps"]) / plain[(r["round"], scenario)]
                  for r in mine if plain.get((r["round"], scenario))]
        out.write("\t".join([
            target, scenario, str(len(mine)), "%.1f" % med("rps"), "%.3f" % med("p50_ms"),
            "%.3f" % med("p99_ms"), str(sum(int(r["non2xx"]) for r in mine)),
            str(sum(int(r["sock_err"]) for r in mine)),
            "%.1f" % med("cpu_us") if all(r["cpu_us"] != "-" for r in mine) else "-",
            "%.3f" % statistics.median(ratios) if ratios else "-",
            ",".join("%.2f" % x for x in ratios) or "-"]
            # the median of the per-round ratios to ModSecurity's req/s (MODSEC=1)
            + (["%.1f" % statistics.median(float(r["rps"]) / modsec[(r["round"], scenario)]
                                           for r in mine)
                if all(modsec.get((r["round"], scenario)) for r in mine) else "-"]
               if modsec else [])) + "\n")
# With ModSecurity and the ceiling in the same rounds: what 50x ModSecurity's req/s is as
# a fraction of plain nginx, against what the proxy path alone reaches.
off = {(r["round"], r["scenario"]): float(r["rps"]) for r in rows if r["target"] == "palisade-off"}
for scenario in dict.fromkeys(r["scenario"] for r in rows):
    rounds = [k[0] for k in plain if k[1] == scenario and (k in modsec) and (k in off)]
    if rounds:
        need = statistics.median(50 * modsec[(r, scenario)] / plain[(r, scenario)] for r in rounds)
        ceiling = statistics.median(off[(r, scenario)] / plain[(r, scenario)] for r in rounds)
        with open(sys.argv[3], "a") as note:
            note.write("%s: 50x ModSecurity = %.3f of plain nginx; palisade --mode off (no inspection) = %.3f\n"
                       % (scenario, need, ceiling))
PY
mv "$OUT.raw" "${OUT%.tsv}-rounds.tsv"
column -t -s$'\t' "$OUT"
if [ -s "$OUT.ceiling" ]; then cat "$OUT.ceiling"; fi
rm -f "$OUT.ceiling"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "TSV: $OUT, each run in ${OUT%.tsv}-rounds.tsv (wrk $WRK_ARGS, $ROUNDS rounds)."
echo "rps, p50, p99: medians over the rounds; rps_vs_plain (and rps_vs_modsec): the median of the per-round ratios."
echo "cpu_us: Palisade's CPU time (user + system) per request it served, median over the rounds."
if [ -n "$PID_OFF" ]; then
  echo "palisade-off: the same binary and arguments with --mode off (nothing inspected)."
fi
echo "non2xx > 0 on palisade = a benign request was blocked."
