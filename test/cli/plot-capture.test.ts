/**
 * `tcpstack plot` from a pcapng capture: the wire alone. A capture made
 * here block by block (Section Header, Interface Description, Enhanced
 * Packet Blocks with opt_comment, pcapng's section 4) in both byte orders:
 * a handshake with window scaling, two data segments of which the
 * impairment layer lost the first, a SACK, the retransmission, and a RST a
 * rule injected. The graph's marks are read back by their descriptions
 * (aria-labels): the bars, the ACK line with the window scaled by the
 * receiver's SYN, the SACK block, the comments as marks where the packets
 * were, the RST.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN, type TcpOptionsToWrite } from '../../stack/wire/tcp.ts';
import { TraceModel, loadCapture, readPcapngBuffer, renderSvg } from '../../cli/plot/index.ts';
import { readComments } from '../../cli/plot/comments.ts';
import { KERNEL, STACK, tcpPacket } from '../helpers/packets.ts';
import { CLI } from '../helpers/interop.ts';

const LINKTYPE_RAW = 101;

/** One pcapng block: type, total length, body padded to 32 bits, total length again. */
function block(le: boolean, type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const out = Buffer.alloc(12 + padded.length);
  const u32 = (v: number, at: number): number => (le ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at));
  u32(type, 0);
  u32(out.length, 4);
  padded.copy(out, 8);
  u32(out.length, out.length - 4);
  return out;
}

interface Packet {
  us: number;
  bytes: Uint8Array;
  comments?: string[];
  /** epb_flags: 1 inbound, 2 outbound. */
  flags?: number;
}

function pcapng(le: boolean, packets: Packet[]): Buffer {
  const shb = Buffer.alloc(16);
  const idb = Buffer.alloc(8);
  if (le) {
    shb.writeUInt32LE(0x1a2b3c4d, 0);
    shb.writeUInt16LE(1, 4);
    idb.writeUInt16LE(LINKTYPE_RAW, 0);
    idb.writeUInt32LE(65535, 4);
  } else {
    shb.writeUInt32BE(0x1a2b3c4d, 0);
    shb.writeUInt16BE(1, 4);
    idb.writeUInt16BE(LINKTYPE_RAW, 0);
    idb.writeUInt32BE(65535, 4);
  }
  shb.fill(0xff, 8); // section length: not given
  const blocks = [block(le, 0x0a0d0d0a, shb), block(le, 1, idb)];
  for (const p of packets) {
    const head = Buffer.alloc(20);
    const w = (v: number, at: number): number => (le ? head.writeUInt32LE(v, at) : head.writeUInt32BE(v, at));
    w(0, 0); // interface 0
    w(Math.floor(p.us / 2 ** 32), 4);
    w(p.us % 2 ** 32, 8);
    w(p.bytes.length, 12);
    w(p.bytes.length, 16);
    const data = Buffer.concat([Buffer.from(p.bytes), Buffer.alloc((4 - (p.bytes.length % 4)) % 4)]);
    const options: Buffer[] = [];
    const option = (code: number, value: Buffer): void => {
      const opt = Buffer.alloc(4);
      if (le) opt.writeUInt16LE(code, 0), opt.writeUInt16LE(value.length, 2);
      else opt.writeUInt16BE(code, 0), opt.writeUInt16BE(value.length, 2);
      options.push(opt, value, Buffer.alloc((4 - (value.length % 4)) % 4));
    };
    for (const c of p.comments ?? []) option(1, Buffer.from(c, 'utf8')); // opt_comment
    if (p.flags !== undefined) {
      const v = Buffer.alloc(4);
      if (le) v.writeUInt32LE(p.flags);
      else v.writeUInt32BE(p.flags);
      option(2, v); // epb_flags
    }
    if (options.length > 0) options.push(Buffer.alloc(4)); // opt_endofopt
    blocks.push(block(le, 6, Buffer.concat([head, data, ...options])));
  }
  return Buffer.concat(blocks);
}

const CLIENT_ISN = 1000;
const SERVER_ISN = 5000;

/**
 * The kernel (port 40000) connects to the stack's port 7, which sends 2000
 * bytes; commented as `up --pcap X.pcapng` comments (tun/capture-notes.ts),
 * the stack's packets outbound.
 */
function exchange(): Packet[] {
  let id = 1;
  const fromKernel = (flags: number, seq: number, ack: number, window: number, options?: TcpOptionsToWrite) =>
    tcpPacket({ src: KERNEL, dst: STACK, sport: 40000, dport: 7, seq, ack, flags, window, options, ipId: id++, ttl: 64 });
  const fromStack = (flags: number, seq: number, ack: number, len = 0, options?: TcpOptionsToWrite) =>
    tcpPacket({ src: STACK, dst: KERNEL, sport: 7, dport: 40000, seq, ack, flags, window: 1000, options, payload: new Uint8Array(len), ipId: id++, ttl: 64 });
  const s = SERVER_ISN + 1;
  const c = CLIENT_ISN + 1;
  const OUT = 2;
  const IN = 1;
  return [
    { us: 1_000_000, flags: IN, bytes: fromKernel(TCP_SYN, CLIENT_ISN, 0, 64240, { mss: 1460, sackPermitted: true, wscale: 7 }) },
    { us: 1_010_000, flags: OUT, bytes: fromStack(TCP_SYN | TCP_ACK, SERVER_ISN, c, 0, { mss: 1460, sackPermitted: true, wscale: 2 }) },
    { us: 1_020_000, flags: IN, bytes: fromKernel(TCP_ACK, c, s, 500) },
    { us: 1_021_000, flags: OUT, bytes: fromStack(TCP_ACK | TCP_PSH, s, c, 1000), comments: ['dropped by impairment (loss), not delivered to the kernel'] },
    { us: 1_022_000, flags: OUT, bytes: fromStack(TCP_ACK | TCP_PSH, s + 1000, c, 1000) },
    { us: 1_032_000, flags: IN, bytes: fromKernel(TCP_ACK, c, s, 500, { sackBlocks: [s + 1000, s + 2000] }), comments: ['delayed 10 ms'] },
    { us: 1_040_000, flags: OUT, bytes: fromStack(TCP_ACK | TCP_PSH, s, c, 1000), comments: ['retransmission (fast); delayed 10 ms'] }, // notes joined as tun/pcapng-capture.ts joins them
    { us: 1_050_000, flags: IN, bytes: fromKernel(TCP_ACK, c, s + 2000, 500) },
    { us: 1_051_000, flags: IN, bytes: fromKernel(TCP_ACK, c, s + 2000, 500, { sackBlocks: [s + 5000, s + 6000] }), comments: ['injected by rule 3', 'duplicate'] },
    { us: 1_060_000, flags: OUT, bytes: fromStack(TCP_RST | TCP_ACK, s + 2000, c), comments: ['RST: closeWithUnread (tcp_send_active_reset in __tcp_close (data_was_unread)), reason TCP_ABORT_ON_CLOSE'] },
  ];
}

function labels(svg: string): string[] {
  return [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

for (const le of [true, false]) {
  test(`pcapng (${le ? 'little' : 'big'}-endian): the wire's segments, ACK and window lines, SACK, RST, and the comments as marks`, async (t) => {
    const buf = pcapng(le, exchange());
    const read = readPcapngBuffer(buf);
    t.is(read.length, 10);
    t.deepEqual(
      read.filter((p) => p.comments.length > 0).map((p) => [p.packet.tUs, ...p.comments]),
      [
        [1_021_000, 'dropped by impairment (loss), not delivered to the kernel'],
        [1_032_000, 'delayed 10 ms'],
        [1_040_000, 'retransmission (fast); delayed 10 ms'],
        [1_051_000, 'injected by rule 3', 'duplicate'],
        [1_060_000, 'RST: closeWithUnread (tcp_send_active_reset in __tcp_close (data_was_unread)), reason TCP_ABORT_ON_CLOSE'],
      ],
    );
    t.deepEqual(
      read.map((p) => p.direction),
      exchange().map((p) => (p.flags === 2 ? 'outbound' : 'inbound')),
    );
    const dir = mkdtempSync(join(tmpdir(), 'tcpstack-plot-'));
    try {
      const file = join(dir, 'run.pcapng');
      writeFileSync(file, buf);
      const model = new TraceModel();
      loadCapture(file, model);
      const conns = model.connections();
      t.deepEqual(
        conns.map((c) => [c.id, c.bytesOut, c.bytesIn]),
        [['7-40000', 3000, 0]],
        'ours: the outbound end',
      );
      const series = model.series('7-40000')!;
      t.is(series.sending, 'out');
      t.is(series.samples.length, 0, 'no state from a capture');
      const marks = labels(await renderSvg(series));
      const expected = [
        'new data 0:1 at 0.010000 s', // the SYN-ACK
        'new data 1:1001 at 0.021000 s',
        'new data 1001:2001 at 0.022000 s',
        'retransmission (fast) 1:1001 at 0.040000 s', // the wire alone does not say why a segment went again: its comment does
        // The receiver's window, 500, scaled by the wscale 7 its SYN announced.
        `ack 1 window ${1 + 500 * 128} at 0.020000 s`,
        `ack 2001 window ${2001 + 500 * 128} at 0.050000 s`,
        'sack 1001:2001 at 0.032000 s',
        'sack 5001:6001 at 0.051000 s',
        'dropped by impairment (loss), not delivered to the kernel at 0.021000 s',
        'injected by rule 3; duplicate at 0.051000 s',
        'RST by the sender at 0.060000 s: closeWithUnread, TCP_ABORT_ON_CLOSE',
      ];
      for (const m of expected) t.true(marks.includes(m), `${m} in ${marks.filter((l) => / at /.test(l)).join(' | ')}`);
      t.is(marks.filter((m) => /^(new data|retransmission)/.test(m)).length, 4, 'a bar per segment with sequence space');
      t.false(
        marks.some((m) => m.startsWith('delayed')),
        'a delay is no mark',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the command reads a pcapng by its first bytes: --list; drawing, it says which of the connections it chose', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-plot-'));
  try {
    const file = join(dir, 'run.pcapng');
    // And a second connection: a SYN from another port, never answered.
    const syn = tcpPacket({ src: KERNEL, dst: STACK, sport: 40001, dport: 7, seq: 9, ack: 0, flags: TCP_SYN, window: 64240, ipId: 99, ttl: 64 });
    writeFileSync(file, pcapng(true, [...exchange(), { us: 1_070_000, flags: 1, bytes: syn }]));
    const r = spawnSync(CLI, ['plot', file, '--list'], { encoding: 'utf8', timeout: 60_000 });
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /^7-40000\s+198\.18\.0\.2:7>198\.18\.0\.1:40000\s+10\s+3000\s+0\s/m);
    t.regex(r.stdout, /^7-40001\s/m);
    const drawn = spawnSync(CLI, ['plot', file, '-o', join(dir, 'run.svg')], { encoding: 'utf8', timeout: 60_000 });
    t.is(drawn.status, 0, drawn.stderr);
    t.regex(drawn.stderr, /run\.svg: 198\.18\.0\.2:7>198\.18\.0\.1:40000, our data, 4 segments, 0 state samples; the busiest of 2 connections \(--list; --conn to choose\)$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("epb_flags decide which end is ours: captured on the kernel's side, the same exchange is the peer's data", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-plot-'));
  try {
    const file = join(dir, 'kernel-side.pcapng');
    writeFileSync(file, pcapng(true, exchange().map((p) => ({ ...p, flags: 3 - p.flags! }))));
    const model = new TraceModel();
    loadCapture(file, model);
    t.deepEqual(
      model.connections().map((c) => [c.id, c.bytesOut, c.bytesIn]),
      [['40000-7', 0, 3000]],
    );
    t.is(model.series('40000-7')!.sending, 'in');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a capture still being written (its last block cut short) is read up to that block', (t) => {
  const whole = pcapng(true, exchange());
  t.is(readPcapngBuffer(whole.subarray(0, whole.length - 10)).length, 9);
});

test("comments: several notes in one, as up --pcap joins them ('; ' per packet, ' | ' per copy); delays are no marks", (t) => {
  t.deepEqual(readComments(['delayed 10 ms | duplicate; delayed 12 ms']), { mark: 'duplicate' });
  t.deepEqual(readComments(['retransmission (tlp); dropped by impairment (loss), not delivered to the kernel']), {
    rtx: 'tlp',
    mark: 'dropped by impairment (loss), not delivered to the kernel',
  });
  t.deepEqual(readComments(['RST: noSocket (tcp_v6_send_reset in tcp_v6_rcv (no socket)), reason NO_SOCKET']), {
    rst: { path: 'noSocket', linux: 'tcp_v6_rcv (no socket)', reason: 'NO_SOCKET', generator: 'reply', ipv6: true },
  });
  t.deepEqual(readComments(['retransmission (warp)', 'a comment from another tool']), { mark: 'retransmission (warp); a comment from another tool' });
});
