/**
 * The peer's retransmissions that raced the subject's prompt ACK. The peer is
 * Linux with its defaults in both runs, so it sends a tail loss probe
 * 2·SRTT + 8 ms after a flight (tcp_schedule_loss_probe): on a veth or a TUN
 * device, a few milliseconds. Whenever the subject's ACK takes longer than
 * that — a scheduling delay of the kernel's softirq or of our stack's
 * process, well below the 100 ms the harness resolves times to — the probe
 * goes out, and the subject answers it with a D-SACK: the original had
 * arrived. Whether such a probe appears is timing, not TCP.
 *
 * A peer retransmission counts as such a race when all of these hold, read
 * from the capture: its original transmission (same sequence number) was
 * captured before it; the subject's ACK that covered that original came
 * within PROMPT_ACK_US of the oldest data it answered (the earliest peer
 * segment at or beyond the subject's previous ACK), so the subject did not
 * hold an ACK back: a delayed ACK waits 40 ms (TCP_DELACK_MIN) from the
 * first segment it leaves unanswered, or leaves early when more data (the
 * probe itself) comes within a quarter of the ATO of its expiry, and a probe
 * that answers a delayed ACK stays compared; and a later ACK of the subject reports the
 * retransmission as a duplicate (a D-SACK, RFC 2883: a first SACK block
 * below the cumulative ACK that covers it). Such retransmissions, and the
 * subject's D-SACK answering each (a duplicate ACK present only where the
 * probe was), are printed and counted, not compared. The subject's own
 * retransmissions are always compared.
 */
import type { TcpPacket } from './pcap-read.ts';

/**
 * An ACK later than this may have been held back on purpose: TCP_DELACK_MIN
 * (10 jiffies, 40 ms) less what tcp_send_delayed_ack cuts from a running
 * timer when data comes (it sends at once within ato/4, up to 3 jiffies at
 * this ATO) and a jiffy of tick phase: 6 jiffies. In app-blocked the
 * peer's probe reached the stack's subject 32 ms after the segment it
 * repeated and released the ACK the subject was holding, where the kernel's,
 * reached after 28 ms, waited for its timer: both held their ACK, and the
 * probe is compared in both runs.
 */
export const PROMPT_ACK_US = 24_000;

const ACK = 0x10;

const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;

export interface RacedRetransmission {
  /** How long the subject left data unacknowledged before the ACK that covered the original (µs). */
  ackUs: number;
  /** The subject's ACK that D-SACKed the retransmission: set apart with it (answering a probe that one run may not have). */
  reply: number;
}

/** The peer's retransmissions that raced a prompt ACK of the subject, by index into `packets`. */
export function racedPeerRetransmissions(packets: readonly TcpPacket[], peerAddr: string, subjectAddr: string): Map<number, RacedRetransmission> {
  const out = new Map<number, RacedRetransmission>();
  const fromPeer = (p: TcpPacket): boolean => p.src === peerAddr && p.dst === subjectAddr;
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    if (!fromPeer(p) || p.len === 0) continue;
    const sameConn = (q: TcpPacket, peerToSubject: boolean): boolean =>
      peerToSubject ? fromPeer(q) && q.sport === p.sport && q.dport === p.dport : q.src === subjectAddr && q.dst === peerAddr && q.sport === p.dport && q.dport === p.sport;
    let orig = -1;
    for (let j = 0; j < i; j++) {
      const q = packets[j]!;
      if (sameConn(q, true) && q.len > 0 && q.seq === p.seq) {
        orig = j;
        break;
      }
    }
    if (orig < 0) continue;
    const o = packets[orig]!;
    const end = (o.seq + o.len) >>> 0;
    let ackUs: number | undefined;
    for (let k = orig + 1; k < packets.length; k++) {
      const q = packets[k]!;
      if (!(sameConn(q, false) && q.flags & ACK && seqLe(end, q.ack))) continue;
      // How long the subject left data unacknowledged before this ACK: from
      // the earliest peer segment at or beyond its previous ACK (a delayed
      // ACK's timer starts at the first segment it leaves unanswered).
      let prevAck: number | undefined;
      for (let b = k - 1; b >= 0 && prevAck === undefined; b--) {
        const r = packets[b]!;
        if (sameConn(r, false) && r.flags & ACK) prevAck = r.ack;
      }
      let oldest = o.tUs;
      if (prevAck !== undefined) {
        for (let b = 0; b < k; b++) {
          const r = packets[b]!;
          if (sameConn(r, true) && r.len > 0 && seqLe(prevAck, r.seq)) {
            oldest = Math.min(oldest, r.tUs);
            break;
          }
        }
      }
      ackUs = q.tUs - oldest;
      break;
    }
    if (ackUs === undefined || ackUs >= PROMPT_ACK_US) continue;
    for (let m = i + 1; m < packets.length; m++) {
      const q = packets[m]!;
      const first = q.sack?.[0];
      if (!sameConn(q, false) || !(q.flags & ACK) || first === undefined) continue;
      const [left, right] = first;
      if (seqLt(left, q.ack) && seqLe(left, p.seq) && seqLt(p.seq, right)) {
        out.set(i, { ackUs, reply: m });
        break;
      }
    }
  }
  return out;
}
