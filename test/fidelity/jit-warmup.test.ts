/**
 * The stack run's warm-up (cli/scenario/jit-warmup.ts): its transfers run to
 * the end, so the code they are there to warm (handshakes, SACK recovery,
 * RACK, PRR, loss probes, closes) has run; once per process.
 */
import test from 'ava';
import { warmUpStack } from '../../cli/scenario/jit-warmup.ts';

test('the warm-up completes every transfer, once per process', (t) => {
  const note = warmUpStack()?.note ?? '';
  t.regex(note, /^stack code warmed up in \d+ ms/);
  // Each recovery path it is there to warm ran at least once.
  for (const name of ['TcpExtTCPSackRecovery', 'TcpExtTCPLossProbes', 'TcpExtTCPTimeouts', 'TcpRetransSegs']) {
    t.regex(note, new RegExp(`${name} [1-9]`), name);
  }
  t.log(note);
  t.is(warmUpStack(), undefined, 'a second call does nothing');
});
