#!/bin/sh
# make demo: what the stack is for, in two short runs of `tcpstack up`, each
# in a throw-away network namespace removed afterwards (also on Ctrl-C or
# failure): the kernel's ping answered; a line through the echo service; a
# connection to a closed port and the RST it draws, with Linux's reason;
# close() with unread data and its RST; then a transfer through 5 % loss,
# traced, and the time-sequence graph of it drawn by `tcpstack plot`.
# Plain text when stdout is not a terminal. The graphs, the trace and the
# captures stay in a new directory whose path is printed; nothing else is
# left behind.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tcpstack="$root/cli/tcpstack"
ns="tcpstack-demo-$$"
addr=198.18.0.2
# A new directory per run: `up` and `plot` never overwrite a file.
outdir=$(mktemp -d "${TMPDIR:-/tmp}/tcpstack-demo.XXXXXX")
log=$(mktemp)
pid=""

if [ "$(id -u)" != 0 ]; then
  echo "make demo needs root (it creates a network namespace and a TUN device)" >&2
  exit 1
fi

if [ -t 1 ]; then bold=$(printf '\033[1m'); plain=$(printf '\033[0m'); else bold=""; plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
in_ns() { ip netns exec "$ns" "$@"; }

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

# start_stack ARGS...: `tcpstack up --netns $ns ARGS` in the background, until its ready line.
start_stack() {
  : >"$log"
  "$tcpstack" up --netns "$ns" --ctl none "$@" >"$log" 2>&1 &
  pid=$!
  tries=0
  until grep -q '^ready' "$log"; do
    if ! kill -0 "$pid" 2>/dev/null || [ $tries -ge 200 ]; then
      echo "tcpstack did not come up:" >&2; cat "$log" >&2; exit 1
    fi
    tries=$((tries + 1)); sleep 0.1
  done
  grep '^ready' "$log"
}

# show_trace PATTERN: the trace lines of the live timeline matching PATTERN
# (it is written once per turn of the stack's event loop: wait up to 2 s).
show_trace() {
  tries=0
  until grep -q "$1" "$log" || [ $tries -ge 20 ]; do tries=$((tries + 1)); sleep 0.1; done
  grep "$1" "$log" | sed 's/^/    trace: /'
}

step "1. tcpstack up --netns $ns --services echo,discard,partial-read --trace rst --pcap $outdir/demo.pcapng"
start_stack --services echo,discard,partial-read --trace rst --pcap "$outdir/demo.pcapng"

step "ping -c 3 $addr   (the kernel's ping, answered by the stack)"
in_ns ping -c 3 -i 0.3 "$addr" || exit 1

step "echo 'hello, tcpstack' | nc -N $addr 7   (a line through the echo service)"
echo 'hello, tcpstack' | in_ns nc -N -w 5 "$addr" 7 || exit 1

step "nc -z $addr 8   (a closed port: the stack answers the SYN with a RST)"
in_ns nc -z -w 2 "$addr" 8 2>&1 | sed 's/^/    nc: /'
show_trace 'RST via noSocket'

step "20000 bytes to port 4001, whose server reads 4096 and closes: close() with unread data sends a RST"
head -c 20000 /dev/zero | in_ns nc -N -w 3 "$addr" 4001 2>&1 | sed 's/^/    nc: /'
show_trace 'RST via closeWithUnread'

step "stopping tcpstack (SIGTERM): the counters that moved"
stop_stack
sed -n '/^stopped/,$p' "$log" | grep -v '^stopped' | grep -E 'Rst|Reset|Abort|Icmp(In|Out)Echo|ActiveOpens|PassiveOpens|Attempt' | sed 's/^/    /'
ip netns del "$ns" 2>/dev/null

step "the capture explains its packets: tshark -r $outdir/demo.pcapng -Y frame.comment"
if command -v tshark >/dev/null 2>&1; then
  tshark -r "$outdir/demo.pcapng" -Y frame.comment -T fields -e frame.number -e frame.p2p_dir -e frame.comment 2>/dev/null |
    awk -F'\t' '{ printf "    #%-4s %-8s %s\n", $1, ($2 == "1" ? "inbound" : "outbound"), $3 }' | head -n 8
else
  echo "    (tshark not installed; open the file with Wireshark: the comments are in each packet's frame)"
fi

step "2. a transfer through 5 % loss: tcpstack up --services echo --loss 5% --delay 10ms --seed 7 --trace-file $outdir/loss.trace"
start_stack --services echo --loss 5% --delay 10ms --seed 7 --trace-file "$outdir/loss.trace"
step "512 KiB through the echo service (port 7): the kernel sends, our stack sends it all back"
head -c 524288 /dev/zero | in_ns nc -N -w 30 "$addr" 7 | wc -c | sed 's/^/    bytes echoed: /'
stop_stack
sed -n '/^stopped/,$p' "$log" | grep -E 'TcpRetransSegs|TCPLossProbes|TCPFastRetrans|TCPSlowStartRetrans|TCPSackRecovery|TCPTimeouts|ImpairLoss' | sed 's/^/    /'
ip netns del "$ns" 2>/dev/null

step "the time-sequence graph: tcpstack plot $outdir/loss.trace --conn 7"
"$tcpstack" plot "$outdir/loss.trace" --conn 7 -o "$outdir/loss.svg" || exit 1
"$tcpstack" plot "$outdir/loss.trace" --conn 7 -o "$outdir/loss.png" || exit 1

if ip netns list | grep -q "^$ns\b"; then echo "namespace $ns left behind!" >&2; exit 1; fi
echo
echo "done: namespace $ns and its TUN devices are gone. Kept in $outdir:"
echo "  $outdir/loss.svg   the time-sequence graph of the lossy transfer (open it in a browser)"
echo "  $outdir/loss.png   the same as PNG"
echo "  $outdir/loss.trace its trace (tcpstack timeline $outdir/loss.trace)"
echo "  $outdir/demo.pcapng the first run's capture, each packet explained (tshark -r $outdir/demo.pcapng -T fields -e frame.number -e frame.comment -Y frame.comment)"
