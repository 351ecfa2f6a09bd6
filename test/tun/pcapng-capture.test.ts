import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Endpoint } from '../../stack/socket/types.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { parseRules } from '../../tun/impair/rules.ts';
import { viewPacket } from '../../tun/impair/packet.ts';
import { readPcapng, type PcapngPacketInfo } from '../../tun/pcapng-read.ts';
import { CaptureWorld, T0_MICROS, type WireEvent } from './capture-world.ts';

/** tshark reads the captures back where it is installed (make tools installs it); elsewhere that check is skipped, not passed. */
const hasTshark = spawnSync('tshark', ['--version']).error === undefined;

function tempPath(t: ExecutionContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pcapng-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

/** One record the capture must hold, built from what happened (the views and the trace), not from the capture. */
interface Expected {
  n: number;
  t: number;
  direction: 'inbound' | 'outbound';
  packet: Uint8Array;
  comment: string;
}

const GENERATOR: Record<string, string> = { active: 'tcp_send_active_reset', reply: 'tcp_v4_send_reset' };

/**
 * The trace's notes on each outgoing TCP packet, paired by order (the
 * capture pairs by ports, seq and flags): the i-th tcp-seg out event is the
 * i-th TCP packet the stack handed its link, and a tcp-rst follows the
 * tcp-seg of its RST.
 */
function traceNotesByOrder(t: ExecutionContext, trace: TraceEvent[], handed: WireEvent[]): Map<Uint8Array, string[]> {
  const segs: Array<{ e: Extract<TraceEvent, { kind: 'tcp-seg' }>; notes: string[] }> = [];
  for (const e of trace) {
    if (e.kind === 'tcp-seg' && e.dir === 'out') segs.push({ e, notes: e.rtx === undefined ? [] : [`retransmission (${e.rtx})`] });
    if (e.kind === 'tcp-rst') {
      const last = segs.at(-1)!;
      t.is(last.e.seq, e.seq, 'a tcp-rst follows the tcp-seg of its RST');
      last.notes.push(`RST: ${e.path} (${GENERATOR[e.generator]} in ${e.linux}), reason ${e.reason}`);
    }
  }
  const tcp = handed.filter((h) => viewPacket(h.packet).protocol === 6);
  t.is(tcp.length, segs.length, 'one tcp-seg out per TCP packet handed to the link');
  const notes = new Map<Uint8Array, string[]>();
  tcp.forEach((h, i) => {
    const v = viewPacket(h.packet);
    const e = segs[i]!.e;
    t.deepEqual([v.srcPort, v.dstPort, v.seq, v.flags], [e.localPort, e.remotePort, e.seq, e.flags], `handed TCP packet ${i} is traced event ${i}`);
    notes.set(h.packet, segs[i]!.notes);
  });
  return notes;
}

/** The stack's drops from the link, by the packet it was given (drop.rx counts given packets from 1). */
function dropNotes(trace: TraceEvent[], given: WireEvent[]): Map<Uint8Array, string[]> {
  const notes = new Map<Uint8Array, string[]>();
  for (const e of trace) {
    if (e.kind !== 'drop' || e.rx === undefined) continue;
    const p = given[e.rx - 1]!.packet;
    notes.set(p, [...(notes.get(p) ?? []), `dropped by the stack: ${e.reason}${e.detail ? ` (${e.detail})` : ''}`]);
  }
  return notes;
}

/**
 * What the capture must hold, from the views: every packet that reached the
 * kernel (at that time) and every one the impairment dropped on the way out
 * (when the stack sent it); every packet the kernel sent (at that time) and
 * every one a rule injected toward the stack (when the stack got it).
 * `inDropNote` says why an incoming packet never reached the stack.
 */
function expectedRecords(t: ExecutionContext, w: CaptureWorld, inDropNote: (p: Uint8Array) => string): Expected[] {
  const traceNotes = traceNotesByOrder(t, w.trace, w.stack.handed);
  const drops = dropNotes(w.trace, w.stack.given);
  const reachedKernel = new Map(w.kernel.sent.map((e) => [e.packet, e]));
  const handed = new Set(w.stack.handed.map((e) => e.packet));
  const given = new Map(w.stack.given.map((e) => [e.packet, e]));
  const fromKernel = new Set(w.kernel.received.map((e) => e.packet));
  const out: Expected[] = [];
  for (const h of w.stack.handed) {
    const k = reachedKernel.get(h.packet);
    const notes = [...(traceNotes.get(h.packet) ?? [])];
    // In the order the stack sent them, those the impairment dropped among the rest of their batch (none is held here).
    if (k === undefined) out.push({ n: h.n, t: h.t, direction: 'outbound', packet: h.packet, comment: [...notes, 'dropped by impairment (loss), not delivered to the kernel'].join('; ') });
    else out.push({ n: k.t === h.t ? h.n : k.n, t: k.t, direction: 'outbound', packet: h.packet, comment: notes.join('; ') });
  }
  t.deepEqual(
    w.kernel.sent.filter((e) => !handed.has(e.packet)),
    [],
    'nothing reached the kernel that the stack did not send',
  );
  for (const r of w.kernel.received) {
    const g = given.get(r.packet);
    const notes = g === undefined ? [inDropNote(r.packet)] : [...(g.t > r.t ? [`delayed ${g.t - r.t} ms`] : []), ...(drops.get(r.packet) ?? [])];
    out.push({ n: r.n, t: r.t, direction: 'inbound', packet: r.packet, comment: notes.join('; ') });
  }
  for (const g of w.stack.given) {
    if (fromKernel.has(g.packet)) continue;
    out.push({ n: g.n, t: g.t, direction: 'inbound', packet: g.packet, comment: ['injected by rule 3', ...(drops.get(g.packet) ?? [])].join('; ') });
  }
  return out.sort((a, b) => a.n - b.n);
}

/** The capture, packet by packet, against what happened: direction, bytes, time, comment. */
function checkCapture(t: ExecutionContext, packets: PcapngPacketInfo[], expected: Expected[]): void {
  t.is(packets.length, expected.length, 'one record per packet');
  for (let i = 0; i < Math.min(packets.length, expected.length); i++) {
    const p = packets[i]!;
    const e = expected[i]!;
    const what = `record ${i + 1} (${e.direction} at ${e.t} ms, expected "${e.comment}")`;
    t.is(p.direction, e.direction, what);
    t.deepEqual(p.data, Buffer.from(e.packet), what);
    t.is(p.micros, T0_MICROS + Math.round(e.t * 1000), what);
    t.is(p.comments.join(''), e.comment, what);
  }
}

/** tshark's frame.comment, epb_flags direction bits and point-to-point direction of each packet. */
function tsharkFields(path: string): Array<{ comment: string; flagsDirection: string; p2p: string }> {
  const r = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.comment', '-e', 'frame.packet_flags_direction', '-e', 'frame.p2p_dir'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [comment, flagsDirection, p2p] = l.split('\t');
      return { comment: comment!, flagsDirection: flagsDirection!, p2p: p2p! };
    });
}

const RST_NO_SOCKET = 'RST: noSocket (tcp_v4_send_reset in tcp_v4_rcv no_tcp_socket), reason NO_SOCKET';
const RST_CLOSE_UNREAD = 'RST: closeWithUnread (tcp_send_active_reset in __tcp_close (data_was_unread)), reason TCP_ABORT_ON_CLOSE';

test('no impairment: a SYN to a closed port is commented with the stack\'s drop, the RST with its reset path and reason', (t) => {
  const path = tempPath(t, 'closed.pcapng');
  const w = new CaptureWorld(path);
  w.clock.set(5);
  w.k.tcp.socket().connect('198.18.0.2', 9);
  w.run(50);
  w.close();
  const file = readPcapng(readFileSync(path));
  t.is(file.sections[0]!.interfaces[0]!.name, 'tcp0');
  t.deepEqual(
    file.packets.map((p) => [p.direction, viewPacket(p.data).flags, p.micros - T0_MICROS, p.comments]),
    [
      ['inbound', 0x02, 5000, ['dropped by the stack: NO_SOCKET']],
      ['outbound', 0x14, 5000, [RST_NO_SOCKET]],
    ],
  );
});

test('with impairments: every packet as the kernel saw it, each commented with what the stack and the impairment did, checked against what happened', (t) => {
  const path = tempPath(t, 'impaired.pcapng');
  const rules = parseRules({
    rules: [
      // 1: the first SYN to the closed port 9 reaches the stack 20 ms after the kernel sent it.
      { match: { direction: 'in', protocol: 'tcp', dstPort: 9, flags: 'S', nth: 1 }, action: { delay: '20ms' } },
      // 2: the kernel's first data segment to port 4001 never reaches the stack.
      { match: { direction: 'in', protocol: 'tcp', dstPort: 4001, length: { min: 1 }, nth: 1 }, action: 'drop' },
      // 3: behind the kernel's first data segment to port 4002, a RST at exactly the next sequence number.
      { match: { direction: 'in', protocol: 'tcp', dstPort: 4002, length: { min: 1 }, nth: 1 }, action: { inject: { toward: 'receiver', flags: 'R', seq: '+0' } } },
    ],
  });
  const w = new CaptureWorld(path, { impair: { seed: 11, out: { loss: 0.15 }, rules } });
  const listen = (port: number): Endpoint => {
    const l = w.s.tcp.socket();
    l.bind(0, port);
    l.listen(8);
    return l;
  };
  const l4001 = listen(4001);
  const l4002 = listen(4002);
  const l4003 = listen(4003);

  // A closed port.
  w.k.tcp.socket().connect('198.18.0.2', 9);
  w.run(100);
  // close() with unread data: the server closes as soon as data is there, without reading it.
  const c1 = w.k.tcp.socket();
  c1.connect('198.18.0.2', 4001);
  let s1: Endpoint | null = null;
  let wrote1 = false;
  w.run(5_000, () => {
    if (!wrote1 && c1.state === 'ESTABLISHED') wrote1 = c1.write(new Uint8Array(2000).fill(0x61)) > 0;
    s1 ??= l4001.accept();
    if (s1 === null || s1.readableBytes === 0) return false;
    s1.close();
    return true;
  });
  t.not(s1, null, 'the server on 4001 got data');
  // A RST injected toward the stack.
  const c2 = w.k.tcp.socket();
  c2.connect('198.18.0.2', 4002);
  let wrote2 = false;
  w.run(w.clock.now() + 3_000, () => {
    if (!wrote2 && c2.state === 'ESTABLISHED') wrote2 = c2.write(Buffer.from('hello')) > 0;
    l4002.accept();
    return false;
  });
  // 30 kB from the stack through 15 % loss: retransmissions.
  const c3 = w.k.tcp.socket();
  c3.connect('198.18.0.2', 4003);
  let s3: Endpoint | null = null;
  let sent = 0;
  let got = 0;
  const data = new Uint8Array(30_000).fill(0x62);
  w.run(w.clock.now() + 60_000, () => {
    s3 ??= l4003.accept();
    if (s3 !== null && sent < data.length) {
      sent += s3.write(data.subarray(sent));
      if (sent === data.length) s3.close();
    }
    for (let chunk = c3.read(); chunk !== null && chunk.length > 0; chunk = c3.read()) got += chunk.length;
    return got === data.length;
  });
  t.is(got, data.length, `the transfer completed (${c3.state}, ${s3 === null ? 'not accepted' : (s3 as Endpoint).state}, sent ${sent})`);
  w.run(w.clock.now() + 1_000);
  w.close();

  const expected = expectedRecords(t, w, (p) => {
    const v = viewPacket(p);
    t.deepEqual([v.dstPort, v.payloadLength > 0], [4001, true], 'the one packet kept from the stack is rule 2\'s');
    return 'dropped by rule 2, not delivered to the stack';
  });
  const file = readPcapng(readFileSync(path));
  checkCapture(t, file.packets, expected);

  // What the run was for: each kind of comment is there, in its words.
  const comments = file.packets.map((p) => `${p.direction}: ${p.comments.join('')}`);
  t.true(comments.includes('inbound: delayed 20 ms; dropped by the stack: NO_SOCKET'), 'the delayed SYN to the closed port');
  t.true(
    comments.some((c) => c.startsWith(`outbound: ${RST_NO_SOCKET}`)),
    'its RST',
  );
  t.true(
    comments.some((c) => c.startsWith(`outbound: ${RST_CLOSE_UNREAD}`)),
    'close() with unread data',
  );
  t.true(comments.includes('inbound: dropped by rule 2, not delivered to the stack'));
  t.true(comments.includes('inbound: injected by rule 3'));
  t.true(
    comments.some((c) => c.endsWith('dropped by impairment (loss), not delivered to the kernel')),
    'an outgoing packet lost',
  );
  t.true(
    comments.some((c) => /^outbound: retransmission \((rto|fast|tlp|slow-start|synack)\)/.test(c)),
    'a retransmission',
  );

  if (!hasTshark) {
    t.log('tshark not installed (make tools installs it): its reading of the capture is not checked here');
    return;
  }
  const fields = tsharkFields(path);
  t.is(fields.length, expected.length);
  fields.forEach((f, i) => {
    const e = expected[i]!;
    t.is(f.comment, e.comment, `tshark, frame ${i + 1}`);
    t.is(f.flagsDirection, e.direction === 'inbound' ? '0x00000001' : '0x00000002', `tshark, frame ${i + 1}: epb_flags direction`);
    t.is(f.p2p, e.direction === 'inbound' ? '1' : '0', `tshark, frame ${i + 1}: point-to-point direction (1 received, 0 sent)`);
  });
});

test('inbound copies: a duplicated and corrupted packet is one record (the kernel sent it once), each copy\'s fate in its own part of the comment; an outgoing duplicate is a record of its own', (t) => {
  const path = tempPath(t, 'copies.pcapng');
  const rules = parseRules({
    rules: [
      { match: { direction: 'in', protocol: 'tcp', dstPort: 9, flags: 'S', nth: 1 }, action: ['duplicate', 'corrupt'] },
      { match: { direction: 'out', protocol: 'tcp', flags: 'SA', nth: 1 }, action: 'duplicate' },
    ],
  });
  const w = new CaptureWorld(path, { impair: { seed: 3, rules } });
  const l = w.s.tcp.socket();
  l.bind(0, 80);
  l.listen(8);
  w.k.tcp.socket().connect('198.18.0.2', 9);
  w.run(10);
  w.k.tcp.socket().connect('198.18.0.2', 80);
  w.run(20);
  w.close();

  const file = readPcapng(readFileSync(path));
  const syn = file.packets[0]!;
  const [copy0, copy1] = w.stack.given.map((g) => g.packet);
  const bit = (copy: Uint8Array): number => {
    for (let i = 0; i < copy.length; i++) if (copy[i] !== syn.data[i]) return i * 8 + Math.clz32(copy[i]! ^ syn.data[i]!) - 24;
    return -1;
  };
  t.deepEqual(
    [syn.direction, syn.comments],
    ['inbound', [`corrupted (bit ${bit(copy0!)} flipped); dropped by the stack: TCP_CSUM | duplicate; corrupted (bit ${bit(copy1!)} flipped); dropped by the stack: TCP_CSUM`]],
  );
  t.true(bit(copy0!) > 0 && bit(copy1!) > 0);
  const synAcks = file.packets.filter((p) => p.direction === 'outbound' && viewPacket(p.data).flags === 0x12);
  t.deepEqual(
    synAcks.map((p) => p.comments),
    [[], ['duplicate']],
  );
  t.deepEqual(synAcks[0]!.data, synAcks[1]!.data);
});

test('with offloads: a super-segment is one record with one comment, and the trace pairs with it', (t) => {
  const path = tempPath(t, 'offload.pcapng');
  const w = new CaptureWorld(path, { offload: true });
  const l = w.k.tcp.socket();
  l.bind(0, 5001);
  l.listen(8);
  const c = w.s.tcp.socket();
  c.connect('198.18.0.1', 5001);
  // Past the device, the third and the seventh data packet are lost: the stack retransmits.
  let dataPackets = 0;
  w.kernel.lose = (p) => {
    if (viewPacket(p).payloadLength === 0) return false;
    dataPackets++;
    return dataPackets === 3 || dataPackets === 7;
  };
  const data = new Uint8Array(300_000).fill(0x63);
  let server: Endpoint | null = null;
  let sent = 0;
  let got = 0;
  w.run(60_000, () => {
    server ??= l.accept();
    if (sent < data.length) sent += c.write(data.subarray(sent));
    if (server !== null) for (let chunk = server.read(); chunk !== null && chunk.length > 0; chunk = server.read()) got += chunk.length;
    return got === data.length;
  });
  t.is(got, data.length);
  c.setLinger(true, 0);
  c.close();
  w.run(w.clock.now() + 100);
  w.close();

  const expected = expectedRecords(t, w, () => 'never: no impairment');
  const file = readPcapng(readFileSync(path));
  checkCapture(t, file.packets, expected);
  const outbound = file.packets.filter((p) => p.direction === 'outbound');
  t.true(
    outbound.some((p) => p.data.length > 1500),
    'super-segments, recorded whole',
  );
  t.true(
    outbound.some((p) => p.data.length > 1500 && p.comments.length === 0),
    'a super-segment of new data, no comment',
  );
  t.true(
    outbound.some((p) => /^retransmission \(/.test(p.comments.join(''))),
    'a retransmission commented',
  );
  t.is(
    outbound.filter((p) => p.comments.join('') === 'RST: lingerZero (tcp_send_active_reset in __tcp_close → tcp_disconnect (SO_LINGER 0)), reason TCP_STATE').length,
    1,
    'close() with SO_LINGER 0: its RST',
  );
});
