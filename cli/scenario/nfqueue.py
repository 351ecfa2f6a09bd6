#!/usr/bin/env python3
"""Holds packets of one netfilter queue and gives them back later: the
differential harness's delay and reordering, the same in the kernel run and
in the stack run (this kernel has no netem and no nft queue statement; the
iptables or ip6tables NFQUEUE target sends packets here, IPv4 or IPv6).

Speaks nfnetlink_queue (include/uapi/linux/netfilter/nfnetlink_queue.h) over a
raw netlink socket, so it needs nothing beyond Python's standard library.

Usage: nfqueue.py QUEUE MODE...
  delay MS             every packet of the queue is accepted MS milliseconds
                       after it arrived, in arrival order
  reorder AFTER SEQ... a TCP segment whose sequence number is one of SEQ is
                       held (its first pass only) until AFTER other segments
                       of the queue have been accepted, then accepted;
                       everything else is accepted at once
  reorder-carrying AFTER SEQ...
                       the same for a segment whose payload carries the
                       byte numbered SEQ (super-segments: it may start
                       earlier)

Prints "ready" once bound; runs until SIGTERM or SIGINT (holds released
first: nothing queued is ever lost), then prints "held N released N".
"""
import heapq
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_PACKET = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_PAYLOAD = 10
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
# Enough of each packet for the IP and TCP headers.
COPY_RANGE = 128


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def message(kind, queue, attrs, flags=NLM_F_REQUEST):
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + b''.join(attrs)
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body


def attrs_of(data):
    out = {}
    i = 0
    while i + 4 <= len(data):
        length, kind = struct.unpack_from('=HH', data, i)
        if length < 4:
            break
        out[kind & 0x7FFF] = data[i + 4:i + length]
        i += (length + 3) & ~3
    return out


def tcp_offset(packet):
    """Where the TCP header of an IPv4 or IPv6 packet starts, or None (not TCP,
    or an IPv6 packet with extension headers: the kernel's and our stack's
    TCP segments carry none)."""
    if len(packet) < 20:
        return None
    version = packet[0] >> 4
    if version == 4 and packet[9] == socket.IPPROTO_TCP:
        return (packet[0] & 0x0F) * 4
    if version == 6 and len(packet) >= 40 and packet[6] == socket.IPPROTO_TCP:
        return 40
    return None


def tcp_sequence(packet):
    """The TCP sequence number of an IPv4 or IPv6 packet, or None."""
    off = tcp_offset(packet)
    if off is None or len(packet) < off + 8:
        return None
    return struct.unpack_from('!I', packet, off + 4)[0]


def tcp_payload_length(packet):
    """The TCP payload length (from the IP header's length field), or 0."""
    off = tcp_offset(packet)
    if off is None or len(packet) < off + 13:
        return 0
    if packet[0] >> 4 == 6:
        total = 40 + struct.unpack_from('!H', packet, 4)[0]
    else:
        total = struct.unpack_from('!H', packet, 2)[0]
    return max(0, total - off - (packet[off + 12] >> 4) * 4)


class Queue:
    def __init__(self, number):
        self.number = number
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.bind((0, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        # nfqnl_recv_config keys a queue by its number alone (the family here
        # is not used): one queue serves IPv4 and IPv6 alike.
        cmd = struct.pack('!BxH', NFQNL_CFG_CMD_BIND, socket.AF_INET)
        self.request(message(NFQNL_MSG_CONFIG, number, [attr(NFQA_CFG_CMD, cmd)], NLM_F_REQUEST | NLM_F_ACK))
        params = struct.pack('!IB', COPY_RANGE, NFQNL_COPY_PACKET)
        self.request(message(NFQNL_MSG_CONFIG, number, [attr(NFQA_CFG_PARAMS, params)], NLM_F_REQUEST | NLM_F_ACK))

    def request(self, msg):
        self.sock.send(msg)
        reply = self.sock.recv(65536)
        length, kind = struct.unpack_from('=IH', reply, 0)
        if kind == NLMSG_ERROR:
            (err,) = struct.unpack_from('=i', reply, 16)
            if err != 0:
                raise OSError(-err, 'nfnetlink_queue: ' + os.strerror(-err))

    def packets(self):
        """(packet id, payload) of each packet in one read."""
        data = self.sock.recv(1 << 16)
        i = 0
        while i + 16 <= len(data):
            length, kind = struct.unpack_from('=IH', data, i)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                a = attrs_of(data[i + 20:i + length])
                hdr = a.get(NFQA_PACKET_HDR)
                if hdr is not None:
                    (pid,) = struct.unpack_from('!I', hdr, 0)
                    yield pid, a.get(NFQA_PAYLOAD, b'')
            i += (length + 3) & ~3

    def accept(self, pid):
        self.sock.send(message(NFQNL_MSG_VERDICT, self.number, [attr(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, pid))]))


def main(argv):
    if len(argv) < 3 or argv[1] not in ('delay', 'reorder', 'reorder-carrying'):
        print(__doc__, file=sys.stderr)
        return 2
    queue = Queue(int(argv[0]))
    mode = argv[1]
    delay_s = float(argv[2]) / 1000 if mode == 'delay' else 0.0
    reorder = mode in ('reorder', 'reorder-carrying')
    after = int(argv[2]) if reorder else 0
    targets = {int(s) for s in argv[3:]} if reorder else set()
    # delay: a FIFO of (release time, serial, id); reorder: the held ids, each
    # with the count of other segments still to pass before it.
    due = []
    held = []
    counts = {'held': 0, 'released': 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print('ready', flush=True)
    serial = 0
    while not stop:
        # Bounded, so that a signal (which select() retries through) is
        # seen within 100 ms.
        timeout = 0.1
        if due:
            timeout = min(timeout, max(0.0, due[0][0] - time.monotonic()))
        try:
            readable, _, _ = select.select([queue.sock], [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        if readable:
            for pid, payload in queue.packets():
                if mode == 'delay':
                    serial += 1
                    heapq.heappush(due, (now + delay_s, serial, pid))
                    counts['held'] += 1
                    continue
                seq = tcp_sequence(payload)
                hit = seq if seq in targets else None
                if hit is None and mode == 'reorder-carrying' and seq is not None:
                    end = seq + tcp_payload_length(payload)
                    hit = next((s for s in targets if 0 <= (s - seq) % (1 << 32) < end - seq), None)
                if hit is not None:
                    targets.discard(hit)
                    held.append([after, pid])
                    counts['held'] += 1
                    continue
                queue.accept(pid)
                for h in held:
                    h[0] -= 1
                for h in [h for h in held if h[0] <= 0]:
                    queue.accept(h[1])
                    held.remove(h)
                    counts['released'] += 1
        while due and due[0][0] <= time.monotonic():
            queue.accept(heapq.heappop(due)[2])
            counts['released'] += 1
    for _, _, pid in sorted(due):
        queue.accept(pid)
        counts['released'] += 1
    for _, pid in held:
        queue.accept(pid)
        counts['released'] += 1
    print(f"held {counts['held']} released {counts['released']}", flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
