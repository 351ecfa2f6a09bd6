/**
 * ICMP errors about our segments (tcp_v4_err; docs/linux-behaviour.md, IP
 * and ICMP): in SYN_SENT a destination unreachable, time exceeded or
 * parameter problem ends the connect at once with icmp_err_convert's errno;
 * on an established connection it is only kept (sk_err_soft) and replaces
 * ETIMEDOUT when the retransmission timer gives up; a quote whose sequence
 * number is outside SND.UNA..SND.NXT is ignored (TcpExtOutOfWindowIcmps).
 */
import test from 'ava';
import { icmpErrorAbout } from '../helpers/packets.ts';
import { moved, snap } from '../helpers/reset-paths.ts';
import { POLLERR } from '../../stack/socket/types.ts';
import { testStack, type TestStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, activeOpen, pattern } from '../helpers/tcp-peer.ts';

/** An ICMP error from a router, quoting the IP header and first 8 TCP bytes of a segment we sent. */
function icmpAbout(type: number, code: number, sport: number, dport: number, seq: number): Uint8Array {
  return icmpErrorAbout({ type, code, sport, dport, seq });
}

function connecting(): { s: TestStack; p: TcpPeer; ep: ReturnType<TestStack['stack']['tcp']['socket']> } {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  return { s, p, ep };
}

for (const [name, type, code, errno] of [
  ['host unreachable', 3, 1, 'EHOSTUNREACH'],
  ['net unreachable', 3, 0, 'ENETUNREACH'],
  ['port unreachable', 3, 3, 'ECONNREFUSED'],
  ['communication administratively prohibited', 3, 13, 'EHOSTUNREACH'],
  ['host unknown', 3, 7, 'EHOSTDOWN'],
  ['time exceeded', 11, 0, 'EHOSTUNREACH'],
  ['parameter problem', 12, 0, 'EPROTO'],
] as const) {
  test(`SYN_SENT: ${name} quoting our SYN ends the connect at once with ${errno}, nothing sent, TcpAttemptFails`, (t) => {
    const { s, p, ep } = connecting();
    p.quietUntil(300);
    const before = snap(s);
    s.stack.input(icmpAbout(type, code, ep.localPort, 80, p.our(0)));
    t.deepEqual(p.flush(), []);
    t.is(ep.state, 'CLOSED');
    t.is(ep.getError(), errno);
    t.deepEqual(p.runUntil(10_000), [], 'no SYN retransmission after the abort');
    const m = moved(s, before);
    t.is(m.TcpAttemptFails, 1);
    t.is(m.TcpExtOutOfWindowIcmps, undefined);
  });
}

test('SYN_SENT: a quote with a sequence number other than the SYN\'s is ignored (TcpExtOutOfWindowIcmps); source quench does nothing, frag-needed does not end the connect', (t) => {
  const { s, p, ep } = connecting();
  p.quietUntil(300);
  s.stack.input(icmpAbout(3, 1, ep.localPort, 80, p.our(1000)));
  s.stack.input(icmpAbout(4, 0, ep.localPort, 80, p.our(0)));
  s.stack.input(icmpAbout(3, 4, ep.localPort, 80, p.our(0)));
  p.flush();
  t.is(ep.state, 'SYN_SENT');
  t.is(ep.getError(), undefined);
  t.is(s.stack.counters.TcpExtOutOfWindowIcmps, 1);
  // The SYN is still retransmitted at 1 s.
  t.is(p.runUntil(1000).length, 1);
});

test('an ICMP error for a 4-tuple with no socket counts IcmpInErrors', (t) => {
  const s = testStack();
  const before = s.stack.counters.IcmpInErrors;
  s.stack.input(icmpAbout(3, 1, 40000, 80, 12345));
  t.is(s.stack.counters.IcmpInErrors - before, 1);
  t.is(s.stack.counters.IcmpInDestUnreachs, 1);
});

test('ESTABLISHED: a host unreachable is only kept; the connection goes on, and EHOSTUNREACH replaces ETIMEDOUT when the RTO gives up', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 }, undefined);
  const stackSide = s.stack.tcp.connections()[0]!;
  t.is(stackSide.state, 'ESTABLISHED');
  p.quietUntil(100);
  ep.write(pattern(100));
  t.is(p.flush().length, 1);
  s.stack.input(icmpAbout(3, 1, ep.localPort, p.port, p.our(1)));
  t.deepEqual(p.flush(), []);
  t.is(ep.state, 'ESTABLISHED');
  t.is(ep.poll() & POLLERR, 0, 'a soft error raises no POLLERR');
  // Nobody answers: the retransmissions run out (tcp_retries2 = 15) and the owner reads the kept error.
  p.runUntil(1_000_000);
  t.is(ep.state, 'CLOSED');
  t.is(ep.getError(), 'EHOSTUNREACH');
});

test('ESTABLISHED: SO_ERROR hands out a kept soft error once and clears it (sock_getsockopt), so a later give-up is ETIMEDOUT', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 }, undefined);
  p.quietUntil(100);
  ep.write(pattern(100));
  p.flush();
  s.stack.input(icmpAbout(3, 0, ep.localPort, p.port, p.our(1)));
  p.flush();
  t.is(ep.getError(), 'ENETUNREACH');
  t.is(ep.getError(), undefined);
  t.is(ep.state, 'ESTABLISHED');
  p.runUntil(1_000_000);
  t.is(ep.state, 'CLOSED');
  t.is(ep.getError(), 'ETIMEDOUT');
});
