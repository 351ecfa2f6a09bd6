/**
 * app-blocked — zero window: the sender probes with seq=SND.UNA-1 at RTO
 * backoff (tcp_probe_timer), the receiver answers with window 0, and nobody
 * resets while the probes are answered (RFC 1122 §4.2.2.17); at the end a
 * close with unread data (__tcp_close: RST,ACK). docs/linux-behaviour.md,
 * Blocked application and Close with unread data.
 *
 * The subject accepts and never reads. The peer writes until its send
 * blocks (a write bounded at 1 s), then 1.5 s more: zero-window probes from
 * the peer, each answered by the subject with a window-0 ACK, and no RST.
 * The subject finally closes with everything unread: RST,ACK.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const appBlocked: Scenario = {
  name: 'app-blocked',
  title: 'receiver never reads: zero window, probes answered, no RST; then close-with-unread RST',
  docs: ['docs/linux-behaviour.md#13-blocked-application-zero-window-and-persist', 'docs/linux-behaviour.md#3-close-with-unread-data'],
  allow: [
    {
      kind: 'bulk-bytes',
      why: "how many bytes fit before the window closes depends on Linux's receive-memory accounting (skb truesize, scaling_ratio) and the peer's send-buffer autotuning, which a userspace stack cannot reproduce byte for byte; flags, kinds and times of the probes and the RST are still compared",
    },
  ],
  steps: [
    subject.listen('L', 5000),
    peer.connect('a', 5000),
    subject.accept('c', 'L'),
    peer.write('a', 8_000_000, 1000),
    sleep(1500),
    subject.close('c'),
    peer.read('a', 100),
    peer.close('a'),
  ],
};
