#!/usr/bin/env bash
# Packet-layer benchmark (run as root): NFQUEUE verdict throughput and detection-to-drop
# latency, in network namespaces made for the run, with 10,000 deny-list CIDRs loaded.
#
#   bench/ips.sh                       # 3 s per load run, 2 queues, 10,000 prefixes
#   SECONDS_PER_RUN=5 QUEUES=2 PREFIXES=10000 SENDERS=4 ROUNDS=5 bench/ips.sh
#   NO_BUILD=1 PROFILE=release bench/ips.sh   # use binaries built before
#
# One run measures, on the same veth path and the same UDP flood (sendmmsg, 64-byte
# datagrams from SENDERS source addresses so the queue balancing spreads them):
#   1. no queue: datagrams/s counted at the server's input hook;
#   2. through the queue: verdicts/s from the daemon's counters, datagrams/s at the input
#      hook, and what the kernel let through unjudged because a queue was full (fail-open);
#   3. detection-to-kernel-ban latency over ROUNDS port scans (daemon counters);
#   4. in-process engine decisions/s (no kernel), as a ceiling.
# Sender, kernel and daemon share the machine's cores: the ratio and the daemon's CPU time
# per verdict are the comparable numbers.
# Writes a TSV to $OUT (default target/bench/ips-<time>.tsv).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-3}"
QUEUES="${QUEUES:-2}"
PREFIXES="${PREFIXES:-10000}"
SENDERS="${SENDERS:-4}"
ROUNDS="${ROUNDS:-5}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$ROOT/target/bench"
OUT="${OUT:-$ROOT/target/bench/ips-$(date +%Y%m%d-%H%M%S).tsv}"

if [ "$(id -u)" != 0 ]; then echo "bench/ips.sh needs root (namespaces, nftables, NFQUEUE)" >&2; exit 1; fi
for t in ip nft iptables-nft; do
  command -v "$t" >/dev/null || { echo "$t missing: apt-get install iproute2 nftables iptables" >&2; exit 1; }
done
PROFILE="${PROFILE:-release}"   # PROFILE=debug: only to check the script itself
if [ "${NO_BUILD:-0}" != 1 ]; then
  flag=""; [ "$PROFILE" = release ] && flag="--release"
  (cd "$ROOT" && cargo build $flag -q -p palisade && cargo build $flag -q -p palisade-ips --examples)
fi
BIN="$TARGET/$PROFILE/palisade"
LOAD="$TARGET/$PROFILE/examples/ips_load"
ENGINE="$TARGET/$PROFILE/examples/ips_engine"

ID="$$"
S="palb-$ID-s"; C="palb-$ID-c"; L="palb-$ID-l"
WORK="$(mktemp -d /tmp/palisade-ips-bench.XXXXXX)"
DAEMON_PID=""
cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null || true
  for ns in "$S" "$C" "$L"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for ns in "$S" "$C" "$L"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$C" link add c0 type veth peer name s0 netns "$S"
ip -n "$L" link add l0 type veth peer name s1 netns "$S"
ip -n "$S" addr add 198.18.1.1/24 dev s0; ip -n "$S" addr add 198.18.2.1/24 dev s1
SRCS=""
for i in $(seq 1 "$SENDERS"); do
  ip -n "$C" addr add "198.18.1.$((i + 1))/24" dev c0
  SRCS="${SRCS:+$SRCS,}198.18.1.$((i + 1))"
done
ip -n "$L" addr add 198.18.2.2/24 dev l0
for l in "$C c0" "$L l0" "$S s0" "$S s1"; do set -- $l; ip -n "$1" link set "$2" up; done
# Count (and drop) the flood after the queue hook (priority 10 > filter 0): no socket work.
ip netns exec "$S" nft -f - <<'NFT'
table inet palbench {
  chain c { type filter hook input priority 10; policy accept; udp dport 9000 counter drop; }
}
NFT
counted() { ip netns exec "$S" nft list chain inet palbench c | awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }'; }
stat_of() { ip netns exec "$S" "$BIN" ips -c "$WORK/ips.toml" stats | awk -v k="$1" '$1 == k { print $2 }'; }
qdropped() { ip netns exec "$S" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '{ d += $6 + $7 } END { print d + 0 }'; }

# 10,000 (PREFIXES) random deny prefixes, none covering the 198.18/15 test addresses.
awk -v n="$PREFIXES" 'BEGIN { srand(42); print "# bench deny list"; for (i = 0; i < n; i++) {
  if (i % 10 == 9) printf "2001:db8:%x:%x::/64\n", int(rand() * 65535), int(rand() * 65535);
  else printf "%d.%d.%d.0/%d\n", 11 + int(rand() * 115), int(rand() * 256), int(rand() * 256), 16 + int(rand() * 9) } }' > "$WORK/deny.txt"
cat > "$WORK/ips.toml" <<TOML
[ips]
ports = [9000]
protocols = ["udp", "tcp"]
queues = $QUEUES
queue_base = 300
state_file = "$WORK/bans.json"
control_socket = "$WORK/ips.sock"
ban_ttl = "1m"
deny_lists = ["$WORK/deny.txt"]
[ips.detect]
packets_per_sec = 0
new_conns_per_sec = 0
syn_per_window = 0
distinct_ports = 20
TOML

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

# 1. No queue.
before=$(counted)
ip netns exec "$C" "$LOAD" udp "$SRCS" 198.18.1.1:9000 "$SECONDS_PER_RUN" > "$WORK/sent0"
sleep 0.2
base_pps=$(rate $(( $(counted) - before )) "$SECONDS_PER_RUN")
base_sent=$(rate "$(cat "$WORK/sent0")" "$SECONDS_PER_RUN")

# 2. Through the queue (table, hook, daemon with the deny list).
ip netns exec "$S" "$BIN" ips -c "$WORK/ips.toml" setup > "$WORK/setup.out"
ip netns exec "$S" "$BIN" ips -c "$WORK/ips.toml" run > "$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do stat_of packets >/dev/null 2>&1 && [ -n "$(stat_of packets)" ] && break; sleep 0.1; done
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
v0=$(stat_of packets); a0=$(stat_of accepted); before=$(counted); d0=$(qdropped); c0=$(cpu_ticks)
ip netns exec "$C" "$LOAD" udp "$SRCS" 198.18.1.1:9000 "$SECONDS_PER_RUN" > "$WORK/sent1"
sleep 0.5
v1=$(stat_of packets); a1=$(stat_of accepted); c1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
# Daemon CPU (user + system, which includes re-injecting accepted packets) per verdict: a
# figure that does not depend on how busy the rest of the machine is.
us_per_verdict=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n=$((v1 - v0)) 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
per_core=$(awk -v u="$us_per_verdict" 'BEGIN { printf "%.0f", 1e6 / u }')
verdict_pps=$(rate $(( v1 - v0 )) "$SECONDS_PER_RUN")
delivered=$(( $(counted) - before ))
queued_pps=$(rate "$delivered" "$SECONDS_PER_RUN")
# With fail-open the kernel accepts what does not fit in the queue or the socket without
# counting it anywhere: it is what reached the input hook minus what the daemon accepted.
bypassed=$(( delivered - (a1 - a0) + $(qdropped) - d0 ))
queue_sent=$(rate "$(cat "$WORK/sent1")" "$SECONDS_PER_RUN")
messages=$(stat_of verdict_messages)

# 3. Detection-to-kernel-ban latency: port scans from another namespace, unbanned between.
# (grep reads all of nft's output: with pipefail, `grep -q` could exit first and fail the
# pipeline through nft's SIGPIPE.)
banned() { ip netns exec "$S" nft list set inet palisade ban4 | grep 198.18.2.2 >/dev/null; }
lat=""
for r in $(seq 1 "$ROUNDS"); do
  tried=$(ip netns exec "$L" "$LOAD" scan 198.18.2.1 60)
  [ "${DEBUG:-0}" = 1 ] && { echo "scan tried $tried"; cat "$WORK/daemon.log"; stat_of bans_port_scan; } >&2
  for _ in $(seq 1 40); do banned && break; sleep 0.05; done
  banned || { echo "round $r: no kernel ban (scan tried $tried ports)" >&2; tail -5 "$WORK/daemon.log" >&2; stat_of bans_failed >&2; exit 1; }
  last=$(stat_of ban_latency_us_last)
  lat="$lat $last"
  ip netns exec "$S" "$BIN" ips -c "$WORK/ips.toml" unban 198.18.2.2 >/dev/null
  sleep 0.1
done
lat_max=$(echo $lat | tr ' ' '\n' | sort -n | tail -1)
lat_mean=$(echo $lat | tr ' ' '\n' | awk '{ s += $1; n++ } END { printf "%.0f", s / n }')

# 4. Engine alone.
engine_line=$("$ENGINE" "$PREFIXES" 5000000)

echo "hook: $(sed -n 's/.*queue hook: //p' "$WORK/setup.out")"
printf "%-44s %s\n" "no queue: datagrams/s at input (sent/s)" "$base_pps ($base_sent)"
printf "%-44s %s\n" "queue: verdicts/s, $QUEUES queues, $PREFIXES CIDRs" "$verdict_pps"
printf "%-44s %s\n" "queue: datagrams/s at input (sent/s)" "$queued_pps ($queue_sent)"
printf "%-44s %s\n" "queue: passed unjudged (fail-open overflow)" "$bypassed"
printf "%-44s %s\n" "queue: verdict messages (batched)" "$messages for $((v1)) packets"
printf "%-44s %s\n" "daemon CPU per verdict, us (verdicts/s/core)" "$us_per_verdict ($per_core)"
printf "%-44s %s\n" "ratio verdicts/s : no-queue datagrams/s" "$(awk -v a="$verdict_pps" -v b="$base_pps" 'BEGIN { printf "%.2f", a / b }')"
printf "%-44s %s\n" "detection -> kernel ban, us (mean / max)" "$lat_mean / $lat_max over $ROUNDS bans"
printf "%-44s %s\n" "engine alone" "$engine_line"
{
  printf "metric\tvalue\n"
  printf "noqueue_pps\t%s\nverdict_pps\t%s\nqueue_input_pps\t%s\nbypassed\t%s\n" "$base_pps" "$verdict_pps" "$queued_pps" "$bypassed"
  printf "daemon_us_per_verdict\t%s\n" "$us_per_verdict"
  printf "ban_latency_us_mean\t%s\nban_latency_us_max\t%s\n" "$lat_mean" "$lat_max"
} > "$OUT"
echo "wrote $OUT"
