/**
 * injection-storm — floods of segments that each deserve an answer, from
 * someone who knows the sequence numbers, and the connection afterwards
 * (tcp_validate_incoming, tcp_send_challenge_ack, tcp_oow_rate_limited).
 * docs/linux-behaviour.md, In-window injection and the send window.
 *
 * (f) Sixteen RSTs and SYNs inside the window but not at RCV.NXT, on a
 * 111 ms grid from the first: one challenge ACK per 500 ms per socket, i.e.
 * to the 1st, 6th, 11th and 16th (tcp_invalid_ratelimit; the grid puts each
 * 500 ms mark 55 ms from the nearest craft, where the crafts one after the
 * other, ~30 ms apart, put it on whichever craft the machine's load made it;
 * the host-wide tcp_challenge_ack_limit is off on 6.18); the connection
 * lives and carries data both ways afterwards.
 * (c) SEG.ACK > SND.NXT and (d) SEG.ACK < SND.UNA − min(max window, bytes
 * acked): a challenge ACK each (tcp_ack, RFC 5961 §5.2), 600 ms apart.
 * (b) Data far ahead in the window with window 0: queued out of order and
 * answered with a SACK; the zero window is taken (SEG.SEQ > SND.WL1) and
 * the subject's next data waits until the peer's SEG.SEQ passes it.
 * Out-of-window FINs: each answered at once with a duplicate ACK — a
 * segment that occupies sequence space and has no SYN is never rate-limited.
 * (The crafted segments' offsets count from what the capture saw the peer
 * send, crafted segments included, so the FINs come last.)
 */
import { peer, sleep, sleepUntil, subject, type Scenario, type Step } from '../types.ts';

/** The storm's first step is the scenario's 7th. */
const STORM_FIRST = 7;
const STORM_GRID_MS = 111;
const storm: Step[] = Array.from({ length: 16 }, (_, i) => [
  ...(i === 0 ? [] : [sleepUntil(STORM_FIRST, i * STORM_GRID_MS)]),
  peer.craft({ sock: 'a', flags: i % 2 ? 'S' : 'R', seq: 1000 + 100 * i, ack: 0 }),
]).flat();
const finsOutOfWindow: Step[] = Array.from({ length: 3 }, () => peer.craft({ sock: 'a', flags: 'F.', seq: 10_000_000, ack: 0 }));

export const injectionStorm: Scenario = {
  name: 'injection-storm',
  title: 'in-window RST/SYN storm: a challenge ACK per 500 ms, the connection lives; bad ACKs challenged; data far ahead with window 0; out-of-window FINs each ACKed',
  docs: ['docs/linux-behaviour.md#16-in-window-injection-and-the-send-window'],
  steps: [
    peer.listen('L', 5000),
    subject.connect('c', 5000),
    peer.accept('a', 'L'),
    peer.write('a', 100),
    subject.read('c', 100),
    sleep(600),
    // Step 7 (STORM_FIRST).
    ...storm,
    sleep(600),
    subject.write('c', 100),
    peer.read('a', 100),
    peer.write('a', 100),
    subject.read('c', 100),
    sleep(600),
    // (c) An ACK of data never sent, (d) one older than SND.UNA − min(max window, bytes acked): challenge ACKs.
    peer.craft({ sock: 'a', flags: '.', seq: 0, ack: 100_000 }),
    sleep(600),
    peer.craft({ sock: 'a', flags: '.', seq: 0, ack: -100_000 }),
    sleep(600),
    // (b) 100 bytes at RCV.NXT + 5000 with window 0.
    peer.craft({ sock: 'a', flags: 'P.', seq: 5000, ack: 0, window: 0, payload: 100 }),
    subject.write('c', 100),
    peer.read('a', 100, 1000),
    peer.write('a', 6000),
    subject.read('c', 6000),
    peer.read('a', 100, 1000),
    sleep(600),
    ...finsOutOfWindow,
    sleep(600),
    peer.close('a'),
    subject.close('c'),
  ],
};
