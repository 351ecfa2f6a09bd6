/**
 * `tcpstack ss FILTER`: iproute2 ss's state words and expressions (ss.c's
 * scan_state, ssfilter.y, run_ssfilter), parsed and matched against one
 * listing. The selections are those iproute2 6.1's ss made of the same kinds
 * of sockets in a namespace (state established, exclude, bucket,
 * synchronized with parentheses, sport > :N with state connected, dport N
 * without '=', dst ADDR:PORT): the same states, the same ports.
 */
import test from 'ava';
import { SS_ALL, SS_CONN, exprMatches, parseSsFilter, singleState, ssMatches, type SsSocket } from '../../cli/ss-filter.ts';
import { UsageError } from '../../cli/usage.ts';

const sock = (state: string, local: string, lport: number, remote: string, rport: number): SsSocket => ({ state, localAddress: local, localPort: lport, remoteAddress: remote, remotePort: rport });

/** One listing: listeners (peer the wildcard, port 0) and connections of both families. */
const LISTING: Record<string, SsSocket> = {
  listen4: sock('LISTEN', '0.0.0.0', 7, '0.0.0.0', 0),
  listen6: sock('LISTEN', '::', 7, '::', 0),
  estab: sock('ESTABLISHED', '198.18.0.2', 7, '198.18.0.1', 40000),
  mapped: sock('ESTABLISHED', '::ffff:198.18.0.2', 80, '::ffff:198.18.0.1', 40001),
  v6: sock('ESTABLISHED', '2001:2::2', 7, '2001:2::1', 41000),
  timewait: sock('TIME_WAIT', '198.18.0.2', 13, '198.18.0.1', 34770),
  synsent: sock('SYN_SENT', '198.18.0.2', 50000, '198.18.0.1', 5555),
  finwait2: sock('FIN_WAIT2', '198.18.0.2', 9, '198.18.0.1', 40002),
};

function select(args: string[], defaultStates = SS_ALL): string[] {
  const filter = parseSsFilter(args);
  const states = filter.states ?? defaultStates;
  return Object.entries(LISTING)
    .filter(([, s]) => ssMatches(filter, states, s))
    .map(([name]) => name);
}

const cases: Array<[string, string[], string[]]> = [
  ['no filter: everything (the listing is ss -a)', [], Object.keys(LISTING)],
  ['state established', ['state', 'established'], ['estab', 'mapped', 'v6']],
  ['state words repeat and add up', ['state', 'time-wait', 'state', 'listening'], ['listen4', 'listen6', 'timewait']],
  ['exclude starts from all', ['exclude', 'established'], ['listen4', 'listen6', 'timewait', 'synsent', 'finwait2']],
  ['excl and case do not matter', ['excl', 'ESTABLISHED', 'excl', 'Listening'], ['timewait', 'synsent', 'finwait2']],
  ['bucket: syn-recv and time-wait', ['state', 'bucket'], ['timewait']],
  ['big: all but the bucket', ['state', 'big'], ['listen4', 'listen6', 'estab', 'mapped', 'v6', 'synsent', 'finwait2']],
  ['connected: all but listening and closed', ['state', 'connected'], ['estab', 'mapped', 'v6', 'timewait', 'synsent', 'finwait2']],
  ['synchronized: connected but syn-sent', ['state', 'synchronized'], ['estab', 'mapped', 'v6', 'timewait', 'finwait2']],
  ['sport = :7 (listeners too)', ['sport', '=', ':7'], ['listen4', 'listen6', 'estab', 'v6']],
  ['sport :7, no operator', ['sport', ':7'], ['listen4', 'listen6', 'estab', 'v6']],
  ['dport 5555, no colon', ['dport', '5555'], ['synsent']],
  ['one argument split at blanks', ['sport = :80'], ['mapped']],
  ['dport != :40000, ne', ['state', 'established', 'dport', 'ne', ':40000'], ['mapped', 'v6']],
  ['sport > :6000 with state connected', ['state', 'connected', 'sport', '>', ':6000'], ['synsent']],
  ['sport ge, lt', ['sport', 'ge', ':9', 'and', 'sport', 'lt', ':80'], ['timewait', 'finwait2']],
  ['( sport = :80 or dport = :5555 )', ['(', 'sport', '=', ':80', 'or', 'dport', '=', ':5555', ')'], ['mapped', 'synsent']],
  ['not, and juxtaposed', ['not', 'sport', '=', ':7', 'dport', '>=', ':40000'], ['mapped', 'finwait2']],
  ['left to right: a or b and c = (a or b) and c', ['sport', ':7', 'or', 'sport', ':13', 'and', 'dport', ':34770'], ['timewait']],
  ['dst ADDR:PORT', ['dst', '198.18.0.1:40000'], ['estab']],
  ['dst = ADDR: an IPv4 rule matches v4-mapped peers too', ['dst', '=', '198.18.0.1'], ['estab', 'mapped', 'timewait', 'synsent', 'finwait2']],
  ['a v4-mapped rule only v4-mapped ones', ['dst', '[::ffff:198.18.0.1]'], ['mapped']],
  ['dst [IPv6]:PORT', ['dst', '[2001:2::1]:41000'], ['v6']],
  ['dst a bare IPv6 address, taken whole', ['dst', '2001:2::1'], ['v6']],
  ['dst a prefix', ['dst', '198.18.0.0/31', 'and', 'not', 'dport', ':0'], ['estab', 'mapped', 'timewait', 'synsent', 'finwait2']],
  ['dst a prefix that excludes', ['dst', '198.18.0.0/32'], []],
  ['src *:7 and the listeners\' wildcard', ['src', '*:7', 'and', 'dst', '0.0.0.0'], ['listen4']],
  ['src [::]:7 is the IPv6 listener', ['src', '[::]:7'], ['listen6']],
];

for (const [what, args, selected] of cases) {
  test(`ss ${args.join(' ') || '(no filter)'}: ${what}`, (t) => {
    t.deepEqual(select(args), selected);
  });
}

test("-K's default without state words is ss's own (SS_CONN): no listeners, TIME-WAIT or SYN-RECV", (t) => {
  t.deepEqual(select([], SS_CONN), ['estab', 'mapped', 'v6', 'synsent', 'finwait2']);
  t.deepEqual(select(['dport', ':34770'], SS_CONN), [], 'a TIME-WAIT only when asked for');
  t.deepEqual(select(['state', 'time-wait', 'dport', ':34770'], SS_CONN), ['timewait']);
});

test('one state leaves the State column out, a group does not', (t) => {
  t.true(singleState(parseSsFilter(['state', 'established']).states!));
  t.false(singleState(parseSsFilter(['state', 'bucket']).states!));
  t.false(singleState(parseSsFilter(['state', 'established', 'state', 'closing']).states!));
  t.true(singleState(parseSsFilter(['state', 'time-wait', 'sport', ':7']).states!));
  t.is(parseSsFilter(['sport', ':7']).states, undefined);
});

test('an expression alone is matched whatever the state', (t) => {
  const e = parseSsFilter(['dport', '=', ':40000']).expr!;
  t.true(exprMatches(e, LISTING.estab!));
  t.false(exprMatches(e, LISTING.mapped!));
});

const misuse: Array<[string[], RegExp]> = [
  [['state', 'listen'], /^ss: wrong state name: listen \(known: established, syn-sent/],
  [['state'], /^ss: state needs a state name/],
  [['sport', '=', ':http'], /^ss: ":http" does not look like a port \(tcpstack ss takes numbers, not service names\)$/],
  [['sport', '=', ':70000'], /does not look like a port/],
  [['dst', 'example.com'], /^ss: an inet prefix is expected rather than "example\.com" \(no host names\)$/],
  [['dst', '198.18.0.0/33'], /the prefix length must be 0-32/],
  [['dev', 'eth0'], /^ss: "dev" filters are not supported by tcpstack ss/],
  [['autobound'], /"autobound" filters are not supported/],
  [['sport', ':7', 'state', 'established'], /^ss: "state" must come before the expression/],
  [['(', 'sport', ':7'], /^ss: "\(" without "\)" in the filter$/],
  [['sport', ':7', ')'], /^ss: unexpected "\)" in the filter \(no "\(" to close\)$/],
  [['sport', '=', ')'], /^ss: sport needs an address or port after it$/],
  [['sport', '>', '*'], /^ss: sport > needs a port number$/],
  [['and'], /^ss: unexpected "and" in the filter/],
  [['sport', ':7', 'or'], /^ss: the filter ends where an expression should follow$/],
  [['dst', '[2001:2::1'], /no '\]' after the address/],
];

for (const [args, message] of misuse) {
  test(`ss ${args.join(' ')} is misuse: ${message.source.slice(0, 40)}`, (t) => {
    const error = t.throws(() => parseSsFilter(args), { instanceOf: UsageError });
    t.regex(error!.message, message);
  });
}
