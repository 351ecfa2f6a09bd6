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
  comment?: string;
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
    if (p.comment !== undefined) {
      const text = Buffer.from(p.comment, 'utf8');
      const opt = Buffer.alloc(4);
      if (le) opt.writeUInt16LE(1, 0), opt.writeUInt16LE(text.length, 2);
      else opt.writeUInt16BE(1, 0), opt.writeUInt16BE(text.length, 2);
      options.push(opt, text, Buffer.alloc((4 - (text.length % 4)) % 4), Buffer.alloc(4)); // opt_comment, opt_endofopt
    }
    blocks.push(block(le, 6, Buffer.concat([head, data, ...options])));
  }
  return Buffer.concat(blocks);
}

const CLIENT_ISN = 1000;
const SERVER_ISN = 5000;

/** The kernel (port 40000) connects to the stack's port 7, which sends 2000 bytes. */
function exchange(): Packet[] {
  let id = 1;
  const fromKernel = (flags: number, seq: number, ack: number, window: number, options?: TcpOptionsToWrite) =>
    tcpPacket({ src: KERNEL, dst: STACK, sport: 40000, dport: 7, seq, ack, flags, window, options, ipId: id++, ttl: 64 });
  const fromStack = (flags: number, seq: number, ack: number, len = 0, options?: TcpOptionsToWrite) =>
    tcpPacket({ src: STACK, dst: KERNEL, sport: 7, dport: 40000, seq, ack, flags, window: 1000, options, payload: new Uint8Array(len), ipId: id++, ttl: 64 });
  const s = SERVER_ISN + 1;
  const c = CLIENT_ISN + 1;
  return [
    { us: 1_000_000, bytes: fromKernel(TCP_SYN, CLIENT_ISN, 0, 64240, { mss: 1460, sackPermitted: true, wscale: 7 }) },
    { us: 1_010_000, bytes: fromStack(TCP_SYN | TCP_ACK, SERVER_ISN, c, 0, { mss: 1460, sackPermitted: true, wscale: 2 }) },
    { us: 1_020_000, bytes: fromKernel(TCP_ACK, c, s, 500) },
    { us: 1_021_000, bytes: fromStack(TCP_ACK | TCP_PSH, s, c, 1000), comment: 'dropped by impairment (loss)' },
    { us: 1_022_000, bytes: fromStack(TCP_ACK | TCP_PSH, s + 1000, c, 1000) },
    { us: 1_032_000, bytes: fromKernel(TCP_ACK, c, s, 500, { sackBlocks: [s + 1000, s + 2000] }) },
    { us: 1_040_000, bytes: fromStack(TCP_ACK | TCP_PSH, s, c, 1000) },
    { us: 1_050_000, bytes: fromKernel(TCP_ACK, c, s + 2000, 500) },
    { us: 1_051_000, bytes: fromKernel(TCP_RST | TCP_ACK, c, s + 2000, 0), comment: 'injected by rule 3' },
  ];
}

function labels(svg: string): string[] {
  return [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

for (const le of [true, false]) {
  test(`pcapng (${le ? 'little' : 'big'}-endian): the wire's segments, ACK and window lines, SACK, RST, and the comments as marks`, async (t) => {
    const buf = pcapng(le, exchange());
    const read = readPcapngBuffer(buf);
    t.is(read.length, 9);
    t.deepEqual(
      read.filter((p) => p.comment !== undefined).map((p) => [p.packet.tUs, p.comment]),
      [
        [1_021_000, 'dropped by impairment (loss)'],
        [1_051_000, 'injected by rule 3'],
      ],
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
        'ours: the end that answered the SYN',
      );
      const series = model.series('7-40000')!;
      t.is(series.sending, 'out');
      t.is(series.samples.length, 0, 'no state from a capture');
      const marks = labels(await renderSvg(series));
      const expected = [
        'new data 0:1 at 0.010000 s', // the SYN-ACK
        'new data 1:1001 at 0.021000 s',
        'new data 1001:2001 at 0.022000 s',
        'new data 1:1001 at 0.040000 s', // the wire does not say why a segment went again
        // The receiver's window, 500, scaled by the wscale 7 its SYN announced.
        `ack 1 window ${1 + 500 * 128} at 0.020000 s`,
        `ack 2001 window ${2001 + 500 * 128} at 0.050000 s`,
        'sack 1001:2001 at 0.032000 s',
        'dropped by impairment (loss) at 0.021000 s',
        'injected by rule 3 at 0.051000 s',
        'RST by the receiver at 0.051000 s',
      ];
      for (const m of expected) t.true(marks.includes(m), `${m} in ${marks.filter((l) => / at /.test(l)).join(' | ')}`);
      t.is(marks.filter((m) => m.startsWith('new data')).length, 4, 'a bar per segment with sequence space');
      t.false(
        marks.some((m) => m.startsWith('retransmission')),
        'no mechanism from a capture',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the command reads a pcapng by its first bytes: --list', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-plot-'));
  try {
    const file = join(dir, 'run.pcapng');
    writeFileSync(file, pcapng(true, exchange()));
    const r = spawnSync(CLI, ['plot', file, '--list'], { encoding: 'utf8', timeout: 60_000 });
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /^7-40000\s+198\.18\.0\.2:7>198\.18\.0\.1:40000\s+9\s+3000\s+0\s/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
