#!/bin/sh
# make demo: our stack answers the kernel's own ping through a TUN device, in a
# throw-away network namespace that is removed afterwards (also on Ctrl-C).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
ns="tcpstack-demo-$$"
addr=198.18.0.2
# A new directory per run: the capture is kept for the user, and `up` never overwrites a file.
capdir=$(mktemp -d "${TMPDIR:-/tmp}/tcpstack-demo.XXXXXX")
pcap="$capdir/demo.pcap"
log=$(mktemp)
pid=""

if [ "$(id -u)" != 0 ]; then
  echo "make demo needs root (it creates a network namespace and a TUN device)" >&2
  exit 1
fi

stop_stack() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
  fi
}
cleanup() {
  stop_stack
  ip netns del "$ns" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting: tcpstack up --netns $ns --pcap $pcap"
"$root/cli/tcpstack" up --netns "$ns" --pcap "$pcap" >"$log" 2>&1 &
pid=$!
tries=0
until grep -q '^ready' "$log"; do
  if ! kill -0 "$pid" 2>/dev/null || [ $tries -ge 200 ]; then
    echo "tcpstack did not come up:" >&2; cat "$log" >&2; exit 1
  fi
  tries=$((tries + 1)); sleep 0.1
done
grep '^ready' "$log"

step "ip netns exec $ns ping -c 3 $addr"
ip netns exec "$ns" ping -c 3 -i 0.3 "$addr" || exit 1

step "ip netns exec $ns ping -c 3 -s 4000 $addr   (4028-byte datagrams, fragmented at MTU 1500 both ways)"
ip netns exec "$ns" ping -c 3 -i 0.3 -s 4000 "$addr" || exit 1

step "stopping tcpstack (SIGTERM): the counters that moved"
stop_stack
sed -n '/^stopped/,$p' "$log"

step "the capture: $pcap (tcpdump -nn -r $pcap icmp)"
if command -v tcpdump >/dev/null 2>&1; then
  tcpdump -nn -r "$pcap" icmp 2>/dev/null | head -n 20
else
  echo "(tcpdump not installed; open the file with Wireshark)"
fi

ip netns del "$ns" 2>/dev/null
if ip netns list | grep -q "^$ns\b"; then echo "namespace $ns left behind!" >&2; exit 1; fi
echo
echo "done: namespace $ns and its TUN device are gone; the capture stays at $pcap"
