/**
 * Data and FIN from the peer (tcp_data_queue, tcp_fin, tcp_event_data_recv
 * in net/ipv4/tcp_input.c): trimming to the window, the receive-memory bound,
 * in-order and out-of-order queues, and when to ACK (RFC 5681 §4.2).
 */
import type { DropReason } from '../drop.ts';
import { TCP_FIN, TCP_SYN } from '../wire/tcp.ts';
import { ackSndCheck, enterQuickAckMode, eventDataRecv, measureRcvMss, rcvMss } from './ack-schedule.ts';
import type { Connection } from './connection.ts';
import * as ecn from './ecn.ts';
import { dsackExtend, dsackSet } from './dsack.ts';
import { enterTimeWait, tcpDone } from './endings.ts';
import * as out from './output.ts';
import {
  chargeInOrder,
  chargeOutOfOrder,
  growWindow,
  measureScalingRatio,
  moveInOrder,
  rcvbufGrow,
  rcvRttMeasure,
  rawSelectWindow,
  rcvRttMeasureTs,
  receivedSkb,
} from './rcvbuf.ts';
import { replyReset } from './reset.ts';
import { segmentCount, type Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGt, seqLt } from './seq.ts';

export function receive(c: Connection, seg: Segment): DropReason | undefined {
  let seq = seg.seq;
  let data = seg.payload;
  let fin = (seg.flags & TCP_FIN) !== 0;
  if (seg.flags & TCP_SYN) seq = seqAdd(seq, 1);

  // Data after the application shut the receive side for good (close, or shutdown RDWR):
  // tcp_rcv_state_process step 7 resets (RFC 9293 §3.10.7.4 "SHOULD", RFC 2525 §2.17).
  if (c.shutRd && c.shutWr && data.length > 0 && seqGt(seqAdd(seq, data.length), c.rcvNxt)) {
    if (c.state === 'FIN_WAIT1' || c.state === 'FIN_WAIT2') {
      replyReset(c.ctx, seg, 'abortOnData');
      c.pendingError = 'ECONNRESET';
      tcpDone(c);
      return 'TCP_ABORT_ON_DATA';
    }
  }

  // Trim what we already have, and what lies beyond the window we advertised.
  if (seqLt(seq, c.rcvNxt)) {
    const dup = seqDiff(c.rcvNxt, seq);
    if (dup >= data.length) {
      // Nothing new unless it is the FIN right at RCV.NXT: a duplicate, ACK at
      // once so the peer stops retransmitting.
      const finIsNew = fin && seqAdd(seq, data.length) === c.rcvNxt;
      if (!finIsNew) {
        // tcp_data_queue: a retransmission of what we have (our ACK was lost
        // or late: DelayedACKLost), reported with a D-SACK (RFC 2883 §4.1.1).
        c.ctx.counters.TcpExtDelayedACKLost++;
        dsackSet(c, seq, seqAdd(seq, data.length + (fin ? 1 : 0)));
        outOfWindowAck(c);
        return 'TCP_OLD_DATA';
      }
      data = data.subarray(data.length);
    } else {
      // tcp_data_queue, "partial packet": D-SACK the part we had (RFC 2883 §4.1.3), keep the rest.
      dsackSet(c, seq, c.rcvNxt);
      data = data.subarray(dup);
    }
    seq = c.rcvNxt;
  }
  // tcp_data_queue never trims the tail: a segment that ends beyond the
  // window is taken whole (tcp_sequence let it through only because the
  // receive queue is empty). What starts at or beyond the right edge is
  // dropped: at RCV.NXT that is a zero window (TCPZeroWindowDrop, though a
  // bare FIN is still taken, which breaks a FIN/ACK loop with a sender that
  // ignores our zero window), further on it is out of window.
  const rightEdge = seqAdd(c.rcvNxt, c.receiveWindow());
  if (data.length > 0 && !seqLt(seq, rightEdge)) {
    outOfWindowAck(c);
    if (seq !== c.rcvNxt) return 'TCP_OVERWINDOW';
    c.ctx.counters.TcpExtTCPZeroWindowDrop++;
    return 'TCP_ZEROWINDOW';
  }
  if (data.length === 0 && !fin) {
    c.ackNow = true;
    c.hooks.dirty(c);
    return undefined;
  }

  // tcp_try_rmem_schedule: with data already queued, a segment that would
  // take the receive memory past sk_rcvbuf (tcp_can_ingest: memory in use
  // plus its length) makes Linux collapse the queues into compact skbs
  // (tcp_prune_queue) and drop it only if that did not make room. The
  // window we offer keeps within the buffer except for the rounding of the
  // never-shrinking scaled window, so collapsing is what absorbs that
  // creep; here it is taken as accounting the queued payload alone. Beyond
  // that the data is dropped and answered at once with a zero window
  // (ICSK_ACK_NOMEM), in order (TCPRcvQDrop) or out of order (TCPOFODrop).
  // A bare FIN is taken all the same (sk_forced_mem_schedule), but the
  // failed check still makes its ACK immediate (ICSK_ACK_NOW).
  if (
    (data.length > 0 || fin) &&
    (seq !== c.rcvNxt || c.recvQueue.length > 0) &&
    c.rmemAlloc + data.length > c.rcvBuf &&
    c.recvQueue.length + c.ooo.bytes + data.length > c.rcvBuf
  ) {
    c.ackNow = true;
    c.hooks.dirty(c);
    if (seq === c.rcvNxt) {
      c.rcvNoMem = true;
      if (data.length > 0) {
        c.ctx.counters.TcpExtTCPRcvQDrop++;
        return 'PROTO_MEM';
      }
    } else {
      c.ctx.counters.TcpExtTCPOFODrop++;
      return 'PROTO_MEM';
    }
  }

  if (seq === c.rcvNxt) {
    if (data.length > 0) {
      // tcp_rcv_established: the receiver's RTT from the echoed timestamp, before the segment counts.
      if (c.tsOk && seg.options.tsPresent) rcvRttMeasureTs(c, data.length, seg.options.tsEcr);
      // A super-segment (GRO, or the kernel's GSO over a TUN with offloads) counts in segments of its gso_size.
      const gsoSize = seg.gsoSize ?? 0;
      const truesize = chargeInOrder(c, data.length);
      if (c.ctx.keepsInput) {
        c.recvQueue.push(data);
        // Views that keep much more alive than they hold (a slow reader's
        // small segments, each in a batch of other traffic) are compacted
        // once the batch is over (TcpLayer.flush, compactReceiveQueue in views.ts).
        c.hooks.viewsQueued(c);
      } else {
        c.recvQueue.push(data.slice());
        c.ctx.copied.rx += data.length;
      }
      c.rcvNxt = seqAdd(c.rcvNxt, data.length);
      c.bytesReceived += data.length;
      // tcp_event_data_recv: tcp_measure_rcv_mss (the ratio first), tcp_rcv_rtt_measure, the ATO, tcp_grow_window.
      measureScalingRatio(c, data.length, gsoSize || data.length, rcvMss(c));
      eventDataRecv(c, gsoSize || data.length, seg.flags);
      rcvRttMeasure(c);
      ecn.checkCe(c, seg); // tcp_event_data_recv → tcp_ecn_check_ce
      if (data.length >= 128) growWindow(c, data.length, truesize);
    }
    const filled = !c.ooo.empty;
    if (filled) {
      // tcp_ofo_queue: held data the new segment overlapped is D-SACKed.
      for (const chunk of c.ooo.takeInOrder(c.rcvNxt, (from, to) => dsackExtend(c, from, to))) {
        c.recvQueue.push(chunk);
        c.rcvNxt = seqAdd(c.rcvNxt, chunk.length);
        c.bytesReceived += chunk.length;
      }
      moveInOrder(c);
      c.ackNow = true; // hole filled: ACK at once (RFC 5681 §4.2)
    }
    if (fin) c.oooFinSeq = seqAdd(seq, data.length);
    if (c.oooFinSeq !== undefined && c.oooFinSeq === c.rcvNxt) processFin(c);
    ackSndCheck(c, rawSelectWindow);
    if (data.length > 0 || filled) c.hooks.wake(c);
  } else {
    // Out of order: hold it, and ACK at once with SACK so the sender learns of the hole.
    let added = 0;
    if (data.length > 0) {
      // tcp_data_queue_ofo: counted whether or not it is new; data already
      // held is D-SACKed (RFC 2883 §4.2).
      c.ctx.counters.TcpExtTCPOFOQueue++;
      c.rcvOoopack += segmentCount(seg); // tp->rcv_ooopack
      ecn.checkCe(c, seg); // tcp_data_queue_ofo → tcp_ecn_check_ce
      // 6.18's tcp_data_queue_ofo measures rcv_mss (and so scaling_ratio) as
      // in-order data does: a sender's first segments may all arrive out
      // of order, and the window grown for them (below) needs that ratio.
      const segLen = seg.gsoSize || data.length;
      measureScalingRatio(c, data.length, segLen, rcvMss(c));
      measureRcvMss(c, segLen, seg.flags);
      // Always copied (views or not): out-of-order data is rare, and its
      // segments would each keep a batch alive for as long as the hole lasts.
      added = c.ooo.insert(seq, data, (from, to, set) => (set ? dsackSet : dsackExtend)(c, from, to), true);
      c.ctx.copied.rx += added; // what it holds is copied out of the packet
      if (added > 0) {
        // tcp_data_queue_ofo: with SACK the window may grow as for in-order
        // data (before the segment is charged), and the buffer grows for
        // what waits out of order once the socket has been accepted.
        const skb = receivedSkb(c, data.length);
        if (c.sackOk && data.length >= 128) growWindow(c, data.length, skb.truesize);
        chargeOutOfOrder(c, seqAdd(seq, data.length), data.length, skb);
        if (c.owner !== undefined) rcvbufGrow(c, c.rcvqSpace);
      }
    }
    if (fin) c.oooFinSeq = seqAdd(seq, data.length);
    c.ackSched = true; // tcp_data_queue_ofo: inet_csk_schedule_ack, so this ACK uses up a quick ACK
    c.ackNow = true;
    c.hooks.dirty(c);
    if (data.length > 0 && added === 0 && !fin) {
      // "All the bits are present": TCPOFOMerge, dropped as TCP_OFOMERGE.
      c.ctx.counters.TcpExtTCPOFOMerge++;
      return 'TCP_OFOMERGE';
    }
  }
  return undefined;
}

/**
 * tcp_data_queue's out_of_window path for a duplicate: quick-ack mode and an
 * ACK owed (inet_csk_schedule_ack), then __tcp_ack_snd_check decides as for
 * new data. The ACK is not forced: when more than a segment is unacknowledged,
 * __tcp_select_window runs first, and with over half the receive memory in
 * use it ends quick-ack mode (icsk_ack.quick = 0), so a receiver that does
 * not read answers the duplicate with its delayed ACK, D-SACK included
 * (test/scripts/rcvbuf-dup-delayed.pkt). With data held out of order the
 * ACK goes at once (__tcp_ack_snd_check's first duplicate ACKs; no SACK
 * compression here).
 */
/**
 * tcp_data_queue for the SYN-ACK that completes a simultaneous open: its
 * SYN is a sequence number we already have (the peer's SYN), so it is a
 * duplicate: DelayedACKLost, a D-SACK of it and an ACK at once.
 */
export function duplicateSyn(c: Connection, seg: Segment): void {
  c.ctx.counters.TcpExtDelayedACKLost++;
  dsackSet(c, seg.seq, seqAdd(seg.seq, 1));
  outOfWindowAck(c);
}

function outOfWindowAck(c: Connection): void {
  enterQuickAckMode(c);
  c.ackSched = true;
  if (!c.ooo.empty) c.ackNow = true;
  ackSndCheck(c, rawSelectWindow);
}

/** tcp_fin: the peer will send no more. */
function processFin(c: Connection): void {
  c.oooFinSeq = undefined;
  if (c.finReceived) return;
  c.finReceived = true;
  c.rcvNxt = seqAdd(c.rcvNxt, 1);
  c.hooks.dirty(c);
  c.hooks.wake(c);
  switch (c.state) {
    case 'SYN_RECV':
    case 'ESTABLISHED':
      // tcp_fin: ping-pong mode, and the ACK is scheduled like any other
      // (inet_csk_schedule_ack, then __tcp_ack_snd_check): on a connection
      // that never received data the ATO is still 0, so the delayed ACK is
      // due at once (test/scripts/rst-close-wait.pkt); a FIN right after
      // data waits for the data's delayed ACK (test/scripts/quick-ack.pkt).
      c.setState('CLOSE_WAIT');
      c.pingpong = true;
      c.ackSched = true;
      return;
    case 'FIN_WAIT1':
      // Simultaneous close (RFC 9293 Figure 13): our FIN not yet acknowledged; ACK at once.
      c.ackNow = true;
      c.setState('CLOSING');
      break;
    case 'FIN_WAIT2':
      // ACK now, before the connection shrinks to a TIME_WAIT minisock.
      out.sendAck(c);
      enterTimeWait(c);
      break;
  }
}
