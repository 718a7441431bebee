#!/usr/bin/env bash
# Packet-layer benchmark (run as root): NFQUEUE verdict throughput and detection-to-drop
# latency, in network namespaces made for the run, with 10,000 deny-list CIDRs loaded.
#
#   bench/ips.sh                       # 3 s per load run, 2 queues, 10,000 prefixes
#   SECONDS_PER_RUN=5 QUEUES=2 PREFIXES=10000 SENDERS=4 ROUNDS=5 bench/ips.sh
#   NO_BUILD=1 PROFILE=release bench/ips.sh   # use binaries built before
#   PERF=1 bench/ips.sh                # also `perf record -a -g` the queued run
#   SENDER=udp bench/ips.sh            # flood through UDP sockets instead of AF_PACKET
#   BATCH_WAIT_US=0 bench/ips.sh       # the daemon's [ips] batch_wait_us (default 250)
#   RATE=300000 bench/ips.sh           # offer 300k datagrams/s instead of flat out: does
#                                      # everything get judged (verdicts/s = RATE, 0 unjudged)?
#
# One run measures, on the same veth path and the same UDP flood (sendmmsg, 64-byte
# datagrams from SENDERS source addresses, one sending thread each; SENDER=raw (default)
# writes the frames with AF_PACKET past the qdisc, SENDER=udp sends them through UDP
# sockets, which costs the sender ~1.5x the CPU per datagram; the receiving side's
# work is the same):
#   1. no queue: datagrams/s counted at the server's input hook;
#   2. through the queue: verdicts/s from the daemon's counters, datagrams/s at the input
#      hook, and what the kernel let through unjudged because a queue was full (fail-open);
#   2b. through the queue with the senders paced to GOAL datagrams/s (default 300,000);
#   3. detection-to-kernel-ban latency over ROUNDS port scans (daemon counters);
#   4. in-process engine decisions/s (no kernel), as a ceiling.
# Sender, kernel and daemon share the machine's cores: the ratio and the daemon's CPU time
# per verdict are the comparable numbers. The kernel's receive path, NFQUEUE enqueue
# included, runs in the sender's context (veth), so the sender's CPU per datagram with the
# queue minus without is roughly the kernel's enqueue cost; the daemon's CPU per verdict includes
# the re-injection of accepted packets. "machine CPU per packet" is every core's busy time
# (other processes included) over the packets.
# Writes a TSV to $OUT (default target/bench/ips-<time>.tsv).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-3}"
QUEUES="${QUEUES:-2}"
PREFIXES="${PREFIXES:-10000}"
SENDERS="${SENDERS:-4}"
SENDER="${SENDER:-raw}"
RATE="${RATE:-0}"   # datagrams/s offered in all; 0: as fast as the senders can
GOAL="${GOAL:-300000}"   # a further queued run offered this many datagrams/s (0: none)
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
MAC=$(ip -n "$S" link show s0 | awk '/link\/ether/ { print $2 }')
flood() {
  if [ "$SENDER" = raw ]; then
    ip netns exec "$C" "$LOAD" raw c0 "$MAC" "$SRCS" 198.18.1.1:9000 "$SECONDS_PER_RUN" "${1:-$RATE}"
  else
    ip netns exec "$C" "$LOAD" udp "$SRCS" 198.18.1.1:9000 "$SECONDS_PER_RUN" "${1:-$RATE}"
  fi
}
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
${BATCH_WAIT_US:+batch_wait_us = $BATCH_WAIT_US}
deny_lists = ["$WORK/deny.txt"]
[ips.detect]
packets_per_sec = 0
new_conns_per_sec = 0
syn_per_window = 0
distinct_ports = 20
TOML

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

# Whole-machine CPU ticks (all cores) from /proc/stat: busy (everything but idle and
# iowait), and the softirq share. Other processes on the machine count too.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $8 }' /proc/stat; }
hz=$(getconf CLK_TCK)
# us of CPU per packet from a tick difference: per_packet TICKS PACKETS
per_packet() { awk -v t="$1" -v hz="$hz" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", t / hz * 1e6 / n; else print "-" }'; }

# 1. No queue.
before=$(counted)
read -r m0 _ < <(machine_ticks)
flood > "$WORK/sent0"
read -r m1 _ < <(machine_ticks)
sleep 0.2
base_n=$(( $(counted) - before ))
base_pps=$(rate "$base_n" "$SECONDS_PER_RUN")
read -r sent0 sender0_us < "$WORK/sent0"
base_sent=$(rate "$sent0" "$SECONDS_PER_RUN")
sender0_per=$(awk -v t="$sender0_us" -v n="$sent0" 'BEGIN { printf "%.2f", t / n }')
machine0_per=$(per_packet $((m1 - m0)) "$base_n")

# 2. Through the queue (table, hook, daemon with the deny list).
ip netns exec "$S" "$BIN" ips -c "$WORK/ips.toml" setup > "$WORK/setup.out"
ip netns exec "$S" "$BIN" ips -c "$WORK/ips.toml" run > "$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do stat_of packets >/dev/null 2>&1 && [ -n "$(stat_of packets)" ] && break; sleep 0.1; done
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
v0=$(stat_of packets); a0=$(stat_of accepted); before=$(counted); d0=$(qdropped); c0=$(cpu_ticks)
PERF_PID=""
if [ "${PERF:-0}" = 1 ]; then
  # Samples every core during the queued run (cpu-clock works in VMs without PMU access).
  perf record -q -a -g -o "$WORK/perf.data" 2>"$WORK/perf.err" &
  PERF_PID=$!
  sleep 0.5
fi
read -r m0 s0 < <(machine_ticks)
flood > "$WORK/sent1"
read -r m1 s1 < <(machine_ticks)
[ -n "$PERF_PID" ] && { kill -INT "$PERF_PID"; wait "$PERF_PID" || true; }
sleep 0.5
v1=$(stat_of packets); a1=$(stat_of accepted); c1=$(cpu_ticks)
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
read -r sent1 sender1_us < "$WORK/sent1"
queue_sent=$(rate "$sent1" "$SECONDS_PER_RUN")
sender1_per=$(awk -v t="$sender1_us" -v n="$sent1" 'BEGIN { printf "%.2f", t / n }')
machine1_per=$(per_packet $((m1 - m0)) $((v1 - v0)))
softirq1_per=$(per_packet $((s1 - s0)) $((v1 - v0)))
messages=$(stat_of verdict_messages)

# 2b. Through the queue at the goal rate: paced senders leave the daemon its share of the
# cores (flat-out senders, one runnable thread more per core, can starve it into fail-open
# overflow). The goal is met when verdicts/s reach GOAL with nothing passed unjudged.
goal_line="-"
if [ "$GOAL" != 0 ]; then
  g0=$(stat_of packets); ga0=$(stat_of accepted); before=$(counted); gd0=$(qdropped); gc0=$(cpu_ticks)
  flood "$GOAL" > "$WORK/sent2"
  sleep 0.5
  g1=$(stat_of packets); ga1=$(stat_of accepted); gc1=$(cpu_ticks)
  read -r sent2 _ < "$WORK/sent2"
  goal_bypassed=$(( $(counted) - before - (ga1 - ga0) + $(qdropped) - gd0 ))
  goal_line="$(rate $((g1 - g0)) "$SECONDS_PER_RUN") judged, $goal_bypassed unjudged (sent $(rate "$sent2" "$SECONDS_PER_RUN")/s; daemon $(per_packet $((gc1 - gc0)) $((g1 - g0))) us/verdict)"
fi

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
echo "sender: $SENDER, $SENDERS threads/sources, offered $([ "$RATE" = 0 ] && echo "flat out" || echo "$RATE/s"); $(nproc) cores; ${SECONDS_PER_RUN}s per run"
printf "%-44s %s\n" "no queue: datagrams/s at input (sent/s)" "$base_pps ($base_sent)"
printf "%-44s %s\n" "queue: verdicts/s, $QUEUES queues, $PREFIXES CIDRs" "$verdict_pps"
printf "%-44s %s\n" "queue: datagrams/s at input (sent/s)" "$queued_pps ($queue_sent)"
printf "%-44s %s\n" "queue: passed unjudged (fail-open overflow)" "$bypassed"
printf "%-44s %s\n" "queue: verdict messages (batched)" "$messages for $((v1)) packets"
printf "%-44s %s\n" "daemon CPU per verdict, us (verdicts/s/core)" "$us_per_verdict ($per_core)"
printf "%-44s %s\n" "sender CPU per datagram, us (no queue/queue)" "$sender0_per / $sender1_per"
printf "%-44s %s\n" "machine CPU per packet, us (no queue/queue)" "$machine0_per / $machine1_per (softirq $softirq1_per)"
printf "%-44s %s\n" "queue: offered $GOAL/s: verdicts/s" "$goal_line"
printf "%-44s %s\n" "ratio verdicts/s : no-queue datagrams/s" "$(awk -v a="$verdict_pps" -v b="$base_pps" 'BEGIN { printf "%.2f", a / b }')"
printf "%-44s %s\n" "detection -> kernel ban, us (mean / max)" "$lat_mean / $lat_max over $ROUNDS bans"
printf "%-44s %s\n" "engine alone" "$engine_line"
{
  printf "metric\tvalue\n"
  printf "noqueue_pps\t%s\nverdict_pps\t%s\nqueue_input_pps\t%s\nbypassed\t%s\n" "$base_pps" "$verdict_pps" "$queued_pps" "$bypassed"
  printf "daemon_us_per_verdict\t%s\n" "$us_per_verdict"
  printf "goal\t%s\ngoal_result\t%s\n" "$GOAL" "$goal_line"
  printf "sender_us_per_datagram_noqueue\t%s\nsender_us_per_datagram_queue\t%s\n" "$sender0_per" "$sender1_per"
  printf "machine_us_per_packet_noqueue\t%s\nmachine_us_per_packet_queue\t%s\n" "$machine0_per" "$machine1_per"
  printf "ban_latency_us_mean\t%s\nban_latency_us_max\t%s\n" "$lat_mean" "$lat_max"
} > "$OUT"
echo "wrote $OUT"
if [ -n "$PERF_PID" ]; then
  cp "$WORK/perf.data" "${OUT%.tsv}.perf.data"
  echo "perf: ${OUT%.tsv}.perf.data (perf report -i FILE --no-children --sort comm,sym -g none)"
  perf report -q -i "$WORK/perf.data" --no-children --sort comm -g none 2>/dev/null | head -12
fi
