/**
 * Faults on chosen data segments of the subject: "drop the 20th segment the
 * first time it passes", "drop segments 20-22", "drop the 20th twice" (a
 * lost retransmission), "deliver the 20th twice". nftables in the peer
 * namespace, at the input hook, i.e. after the capture point: tcpdump on the
 * peer's interface sees every segment the subject sent, the dropped copy
 * included, and never the duplicate.
 *
 * A segment is recognised by its sequence number: segment k starts at
 * ISN + 1 + start + (k-1)·bytes, the ISN being the subject's, read from the capture
 * once the connection is up. How many times each has passed is kept in
 * dynamic sets, one per pass: set 1 holds the sequence numbers seen once,
 * set 2 those seen twice, and so on. A packet whose sequence number is in
 * the last set goes through (`return` to the base chain); otherwise it is
 * added to the next set and dropped (or duplicated). Both runs meet the same
 * rules on the same kernel.
 *
 * With offloads (`carrying`: the subject sends super-segments, as a kernel
 * with TSO and our stack with --offload on do) segment k is mostly inside a
 * packet that starts earlier: the rules then select the packet that carries
 * segment k's first byte, one rule per possible start (k's own sequence
 * number, or 1 to 44 segments before it with a payload reaching past it),
 * and count its passes by its own sequence number. Both runs send the same
 * packets (TSO autosizing as tcp_tso_autosize), so both meet the same fault.
 *
 * `dup to` the peer's own address sends the copy through the loopback device,
 * which delivers it to the peer's TCP as if from the subject; the rule skips
 * what arrives on lo, so the copy is not copied again. nft's dup needs a
 * table of one IP family (an inet table refuses it): ip, or ip6 over IPv6,
 * where the rules match `ip6 saddr`/`daddr` and the payload length field.
 */
import type { NftFamily } from './lab.ts';
import type { Family } from './family.ts';
import type { SegmentSelector } from './types.ts';

/** The nft table family of a segment fault over `family` (dup needs one IP family, not inet). */
export function segmentFaultFamily(family: Family): NftFamily {
  return family === 4 ? 'ip' : 'ip6';
}

export interface SegmentTarget {
  /** The connection's address family (default 4). */
  family?: Family;
  subjectAddr: string;
  peerAddr: string;
  subjectPort: number;
  peerPort: number;
  /** The subject's initial sequence number on this connection. */
  isn: number;
  /** Select the packet carrying each segment's first byte (super-segments), not only one starting there. */
  carrying?: boolean;
}

/** The most MSS-sized segments one super-segment holds (64 KiB of IP packet). */
const MAX_GSO_SEGS = 45;

/** The sequence number of each selected segment's first byte. */
export function segmentSequences(g: SegmentSelector, isn: number): number[] {
  if (!Number.isInteger(g.from) || !Number.isInteger(g.to) || g.from < 1 || g.to < g.from) throw new Error(`segment fault: bad range ${g.from}-${g.to}`);
  if (!Number.isInteger(g.bytes) || g.bytes < 1) throw new Error(`segment fault: bad segment size ${g.bytes}`);
  const out: number[] = [];
  const start = g.start ?? 0;
  if (!Number.isInteger(start) || start < 0) throw new Error(`segment fault: bad start ${start}`);
  for (let k = g.from; k <= g.to; k++) out.push((isn + 1 + start + (k - 1) * g.bytes) >>> 0);
  return out;
}

/**
 * The body of the nft table (family ip, or ip6: segmentFaultFamily) that
 * applies `g` to the subject's data on one connection: the sets, the
 * counting chain and the base chain at the input hook.
 */
export function segmentFaultTable(g: SegmentSelector, t: SegmentTarget): string {
  if (!Number.isInteger(g.times) || g.times < 1 || g.times > 8) throw new Error(`segment fault: times must be 1-8, not ${g.times}`);
  if (g.action === 'reorder') throw new Error('segment fault: reordering holds packets (queue-faults.ts), nftables cannot');
  if (g.action === 'dup' && g.times !== 1) throw new Error('segment fault: a duplicate is made once');
  const seqs = segmentSequences(g, t.isn);
  const lines: string[] = [];
  for (let i = 1; i <= g.times; i++) lines.push(`  set passed${i} { typeof tcp sequence; flags dynamic; }`);
  const act = g.action === 'dup' ? `dup to ${t.peerAddr}` : 'drop';
  const chain = [`    tcp sequence @passed${g.times} return`];
  for (let i = g.times - 1; i >= 1; i--) chain.push(`    tcp sequence @passed${i} add @passed${i + 1} { tcp sequence } ${act}`);
  chain.push(`    add @passed1 { tcp sequence } ${act}`);
  lines.push(`  chain count {\n${chain.join('\n')}\n  }`);
  // Payload only, so that a bare ACK or FIN at one of these numbers passes
  // untouched: ip length (the total length) > 80, 20 bytes of IP header and
  // at most 60 of TCP; ip6 length (the payload length, after the fixed
  // header) > 60.
  const ip = t.family === 6 ? 'ip6' : 'ip';
  const headers = t.family === 6 ? 60 : 80;
  const rule = (longer: number, starts: number[]): string =>
    `    iifname != "lo" ${ip} saddr ${t.subjectAddr} ${ip} daddr ${t.peerAddr} ${ip} length > ${headers + longer} tcp sport ${t.subjectPort} tcp dport ${t.peerPort} tcp sequence { ${starts.join(', ')} } jump count`;
  const rules = [rule(0, seqs)];
  if (t.carrying === true) {
    // A packet starting j segments earlier carries the segment when its payload is over j segments long.
    for (let j = 1; j < MAX_GSO_SEGS; j++) rules.push(rule(j * g.bytes, [...new Set(seqs.map((s) => (s - j * g.bytes) >>> 0))]));
  }
  lines.push(`  chain in {\n    type filter hook input priority 0; policy accept;\n${rules.join('\n')}\n  }`);
  return lines.join('\n');
}
