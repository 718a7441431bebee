#!/usr/bin/env bash
# Profile-guided release build of the palisade binary: an instrumented build serves a
# short training workload, and the release build is then optimized with what it recorded
# (which branches are taken, which functions are hot: hot code laid out together and
# inlined, cold code moved aside). The request path of a WAF touches a lot of code per
# request (HTTP parsing, the request model, several detectors, the upstream client), so
# instruction-cache misses are a large part of its cost and this layout is what PGO buys.
#
#   tools/pgo-build.sh                 # -> target/pgo/release/palisade
#
# Training workload (benign traffic dominates, as in production): the anchor wrk
# scenarios (GET with a query, 2 KB form, 20 KB JSON) proxied to the anchors' nginx
# upstream, by the default configuration and again with the OWASP CRS loaded (CRS_DIR,
# default ../shared/data/crs, when it exists: a profile without it lays the SecLang engine
# out as cold code), plus `palisade check --corpus` over the repository's attack and benign
# corpora so that detection's blocking paths are not laid out as cold. Needs wrk
# (apt-get install wrk), the anchors (../shared/anchors) and llvm-profdata of the
# toolchain's LLVM (rustup component add llvm-tools).
# CARGO_TARGET_DIR is honoured; the result is $TARGET/pgo/release/palisade.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ANCHORS="${ANCHORS:-$ROOT/../shared/anchors}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PORT="${PORT:-18097}"
DUR="${DUR:-4}"
SYSROOT="$(rustc --print sysroot)"
PROFDATA="$(ls "$SYSROOT"/lib/rustlib/*/bin/llvm-profdata 2>/dev/null | head -1 || true)"
[ -x "$PROFDATA" ] || { echo "llvm-profdata missing: rustup component add llvm-tools" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
LUA="$ANCHORS/wrk/scenario.lua"
[ -f "$LUA" ] || { echo "no wrk scenarios at $LUA (set ANCHORS)" >&2; exit 1; }

PROFILES="$TARGET/pgo/profiles"
rm -rf "$PROFILES"; mkdir -p "$PROFILES"

echo "1/3 instrumented build" >&2
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET/pgo-instrumented" \
  RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$PROFILES" cargo build --release -q -p palisade)
BIN="$TARGET/pgo-instrumented/release/palisade"

echo "2/3 training workload" >&2
"$ANCHORS/start.sh" upstream >/dev/null   # nginx answering 200 on 127.0.0.1:18080
CRS_DIR="${CRS_DIR:-$ROOT/../shared/data/crs}"
# serve_scenarios [serve arguments...]: the anchor scenarios through one instrumented proxy
serve_scenarios() {
  PALISADE_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --upstream http://127.0.0.1:18080 \
    "$@" >/dev/null 2>&1 &
  PID=$!
  trap 'kill $PID 2>/dev/null || true' EXIT
  up=0
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && up=1 && break; sleep 0.2; done
  # (wrk exits 0 when it cannot connect: without this check the profile would silently
  # lack the proxy path)
  [ "$up" = 1 ] || { echo "the instrumented palisade did not listen on port $PORT" >&2; exit 1; }
  for s in get form json; do
    wrk -t2 -c16 -d"${DUR}s" -s "$LUA" "http://127.0.0.1:$PORT" -- "$s" >/dev/null
  done
  kill -INT $PID; wait $PID 2>/dev/null || true
  trap - EXIT
}
serve_scenarios
if [ -d "$CRS_DIR/rules" ]; then
  serve_scenarios --crs "$CRS_DIR"
else
  echo "no CRS at $CRS_DIR: the profile leaves the SecLang engine out" >&2
fi
# one process for all corpora: the signature sets are compiled at every start, and many
# starts would make that compilation the profile's hot code
cat "$ROOT"/corpus/attacks/*.jsonl "$ROOT"/corpus/benign/*.jsonl > "$PROFILES/corpus.jsonl"
"$BIN" check --corpus "$PROFILES/corpus.jsonl" >/dev/null   # (exits non-zero only on an error)
rm -f "$PROFILES/corpus.jsonl"

echo "3/3 optimized build" >&2
"$PROFDATA" merge -o "$PROFILES/merged.profdata" "$PROFILES"
# named by its content: cargo rebuilds when RUSTFLAGS change, not when a file they name
# does, and every crate must be built with the new profile
USE="$TARGET/pgo/merged-$(sha256sum "$PROFILES/merged.profdata" | cut -c1-16).profdata"
mv "$PROFILES/merged.profdata" "$USE"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET/pgo" \
  RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$USE" cargo build --release -q -p palisade)
# older profiles (from earlier runs) are no longer named by any build
find "$TARGET/pgo" -maxdepth 1 -name 'merged-*.profdata' ! -path "$USE" -delete
echo "$TARGET/pgo/release/palisade"
