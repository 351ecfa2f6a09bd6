#!/usr/bin/env python3
"""tcpstack scenario agent: kernel sockets driven by JSON lines.

Started once per network namespace (`ip netns exec NS python3 agent.py
FAMILY`, FAMILY 4 or 6: AF_INET or AF_INET6 sockets, listening on 0.0.0.0 or
::, crafting IPv4 or IPv6 packets). Each stdin line is one command, e.g.
  {"op": "connect", "sock": "c", "addr": "198.19.1.1", "port": 5000, "timeoutMs": 2000}
and each command gets exactly one stdout line:
  {"r": RESULT, "info": {...}}     RESULT in the harness's vocabulary:
    "ok"            the call succeeded
    "<n>"           a byte count (read: bytes received; write: bytes sent)
    "EOF"           read returned 0 bytes
    "timeout"       the application's own timeout ran out (no errno)
    "timeout(<n>)"  a write that timed out after n bytes were taken
    "E..."          the errno name (errno.errorcode[OSError.errno])
  {"error": "..."}  the harness misused the agent (unknown socket...): a bug.

Calls block with a timeout, as an application with settimeout() would.
Sockets are held by name. SIGPIPE is ignored (Python's default), so writes
on a reset connection report EPIPE.
"""
import errno
import json
import socket
import struct
import sys
import time

TCP_LINGER2 = 8
TCP_KEEPIDLE = 4
TCP_KEEPINTVL = 5
TCP_KEEPCNT = 6
TCP_USER_TIMEOUT = 18
TCP_CONGESTION = 13

socks = {}

# The address family of every socket (main() sets it from argv).
FAMILY = socket.AF_INET


def errname(e):
    # socket.timeout is TimeoutError with errno None: the application's own timeout.
    if e.errno is None:
        return 'timeout'
    return errno.errorcode.get(e.errno, 'E%d' % e.errno)


def ports(s):
    try:
        return {'lport': s.getsockname()[1], 'rport': s.getpeername()[1]}
    except OSError:
        return {}


def seconds(ms):
    return max(ms, 1) / 1000.0


def op_listen(c):
    s = socket.socket(FAMILY, socket.SOCK_STREAM)
    socks[c['sock']] = s
    # '::' with IPV6_V6ONLY off (net.ipv6.bindv6only 0): as our stack's IPv6 listener.
    s.bind(('::' if FAMILY == socket.AF_INET6 else '0.0.0.0', c['port']))
    s.listen(c['backlog'])
    return 'ok', {}


def op_accept(c):
    lst = socks[c['listener']]
    lst.settimeout(seconds(c['timeoutMs']))
    conn, _ = lst.accept()
    conn.settimeout(None)
    socks[c['sock']] = conn
    return 'ok', ports(conn)


def op_connect(c):
    s = socket.socket(FAMILY, socket.SOCK_STREAM)
    socks[c['sock']] = s
    for opt in c.get('before') or []:
        set_option(s, opt)
    s.settimeout(seconds(c['timeoutMs']))
    try:
        s.connect((c['addr'], c['port']))
    except OSError as e:
        if e.errno is None:
            # The application gives up: close() in SYN_SENT (sends nothing).
            s.close()
            del socks[c['sock']]
        raise
    return 'ok', ports(s)


def op_read(c):
    s = socks[c['sock']]
    s.settimeout(seconds(c['timeoutMs']))
    data = s.recv(c['max'])
    return ('EOF' if len(data) == 0 else str(len(data))), {}


def op_write(c):
    s = socks[c['sock']]
    total = c['bytes']
    buf = b'x' * total
    sent = 0
    deadline = time.monotonic() + seconds(c['timeoutMs'])
    while sent < total:
        left = deadline - time.monotonic()
        if left <= 0:
            return 'timeout(%d)' % sent, {}
        s.settimeout(left)
        try:
            sent += s.send(buf[sent:])
        except OSError as e:
            if e.errno is None:
                return 'timeout(%d)' % sent, {}
            raise
    return str(sent), {}


def op_close(c):
    s = socks.pop(c['sock'])
    s.close()
    return 'ok', {}


def op_shutdown(c):
    how = {'read': socket.SHUT_RD, 'write': socket.SHUT_WR, 'both': socket.SHUT_RDWR}[c['how']]
    socks[c['sock']].shutdown(how)
    return 'ok', {}


def op_setsockopt(c):
    set_option(socks[c['sock']], c['opt'])
    return 'ok', {}


def set_option(s, opt):
    if 'linger' in opt:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1 if opt['linger']['on'] else 0, opt['linger']['seconds']))
    elif 'keepalive' in opt:
        k = opt['keepalive']
        if not k.get('enableLast'):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPIDLE, k['idle'])
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPINTVL, k['intvl'])
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPCNT, k['cnt'])
        if k.get('enableLast'):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    elif 'userTimeoutMs' in opt:
        s.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, opt['userTimeoutMs'])
    elif 'linger2' in opt:
        s.setsockopt(socket.IPPROTO_TCP, TCP_LINGER2, opt['linger2'])
    elif 'congestion' in opt:
        s.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, opt['congestion'].encode())
    elif 'rcvbuf' in opt:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, opt['rcvbuf'])
    elif 'sndbuf' in opt:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, opt['sndbuf'])
    else:
        raise ValueError('unknown option %r' % (opt,))


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


FLAG_BITS = {'F': 0x01, 'S': 0x02, 'R': 0x04, 'P': 0x08, '.': 0x10, 'U': 0x20}


def op_craft(c):
    """One TCP segment through a raw socket with our own IP header (IPPROTO_RAW:
    IP_HDRINCL, and its IPv6 counterpart, which inet6_create sets for it): no
    options, as scapy would build it. IPv6: traffic class and flow label 0,
    hop limit 64."""
    flags = 0
    for ch in c['flags']:
        flags |= FLAG_BITS[ch]
    payload = b'x' * c.get('payload', 0)
    src = socket.inet_pton(FAMILY, c['src'])
    dst = socket.inet_pton(FAMILY, c['dst'])
    tcp = struct.pack('!HHIIBBHHH', c['sport'], c['dport'], c['seq'] & 0xffffffff, c['ack'] & 0xffffffff,
                      5 << 4, flags, c.get('window', 8192), 0, 0) + payload
    if FAMILY == socket.AF_INET6:
        # RFC 8200 section 8.1: upper-layer length (32 bits), three zero bytes, next header.
        pseudo = src + dst + struct.pack('!I3xB', len(tcp), socket.IPPROTO_TCP)
    else:
        pseudo = src + dst + struct.pack('!BBH', 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack('!H', checksum(pseudo + tcp)) + tcp[18:]
    if FAMILY == socket.AF_INET6:
        ip = struct.pack('!IHBB16s16s', 6 << 28, len(tcp), socket.IPPROTO_TCP, 64, src, dst)
    else:
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, socket.IPPROTO_TCP, 0, src, dst)
    raw = socket.socket(FAMILY, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        raw.sendto(ip + tcp, (c['dst'], 0))
    finally:
        raw.close()
    return 'ok', {}


OPS = {
    'listen': op_listen,
    'accept': op_accept,
    'connect': op_connect,
    'read': op_read,
    'write': op_write,
    'close': op_close,
    'shutdown': op_shutdown,
    'setsockopt': op_setsockopt,
    'craft': op_craft,
}


def main():
    global FAMILY
    if len(sys.argv) > 1:
        if sys.argv[1] not in ('4', '6'):
            sys.exit('usage: agent.py [4|6]')
        FAMILY = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
    out = sys.stdout
    out.write(json.dumps({'ready': True}) + '\n')
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            if cmd.get('op') == 'quit':
                break
            handler = OPS[cmd['op']]
            try:
                result, info = handler(cmd)
                reply = {'r': result, 'info': info}
            except OSError as e:
                reply = {'r': errname(e), 'info': {}}
        except Exception as e:  # a harness bug: say so, keep serving
            reply = {'error': '%s: %s' % (type(e).__name__, e)}
        out.write(json.dumps(reply) + '\n')
        out.flush()
    for s in socks.values():
        try:
            s.close()
        except OSError:
            pass


if __name__ == '__main__':
    main()
