/**
 * What a pcapng packet's comments tell the graph. `up --pcap X.pcapng`
 * comments each packet with what the stack's trace and the impairment
 * layer said of it (tun/capture-notes.ts words them); a capture then gives
 * back part of what only a trace has:
 *
 * - "retransmission (tlp)": the bar takes the mechanism's colour and shape;
 * - "RST: closeWithUnread (tcp_send_active_reset in __tcp_close
 *   (data_was_unread)), reason TCP_ABORT_ON_CLOSE": the RST mark its reason;
 * - what happened to the packet on its way ("dropped by impairment (loss),
 *   not delivered to the kernel", "injected by rule 3", "duplicate",
 *   "corrupted (bit 12 flipped)", "rewritten by rule 2", "dropped by the
 *   stack: NO_SOCKET", or any comment another tool wrote): a mark where the
 *   packet is drawn.
 *
 * "delayed N ms" and "reordered" are no marks: with --delay every packet
 * has one, and the bars' times already show it. One comment may hold
 * several notes: tun/pcapng-capture.ts joins a packet's with "; " and the
 * copies of a duplicated one with " | ".
 */
import type { RetransMechanism } from '../../stack/trace.ts';

const MECHANISMS: readonly RetransMechanism[] = ['rto', 'slow-start', 'fast', 'tlp', 'syn', 'synack'];

export interface CommentedReset {
  path: string;
  linux: string;
  reason: string;
  generator: 'reply' | 'active';
  ipv6: boolean;
}

export interface PacketComments {
  rtx?: RetransMechanism;
  rst?: CommentedReset;
  /** Comments to draw as a mark, joined with "; " (undefined: none). */
  mark?: string;
}

const RETRANSMISSION = /^retransmission \(([a-z-]+)\)$/;
// The kernel function may itself hold parentheses: "__tcp_close (data_was_unread)".
const RST = /^RST: (\S+) \((\S+) in (.+)\), reason (\S+)$/;
const NOT_A_MARK = /^(delayed [\d.]+ ms|reordered)$/;

export function readComments(comments: readonly string[]): PacketComments {
  const out: PacketComments = {};
  const marks: string[] = [];
  for (const c of comments.flatMap((comment) => comment.split(/; | \| /))) {
    const rtx = RETRANSMISSION.exec(c);
    if (rtx !== null && (MECHANISMS as readonly string[]).includes(rtx[1]!)) {
      out.rtx = rtx[1] as RetransMechanism;
      continue;
    }
    const rst = RST.exec(c);
    if (rst !== null) {
      out.rst = { path: rst[1]!, linux: rst[3]!, reason: rst[4]!, generator: rst[2] === 'tcp_send_active_reset' ? 'active' : 'reply', ipv6: rst[2] === 'tcp_v6_send_reset' };
      continue;
    }
    if (!NOT_A_MARK.test(c)) marks.push(c);
  }
  if (marks.length > 0) out.mark = marks.join('; ');
  return out;
}
