/** Fidelity against the kernel, one test per differential scenario (docs/differential-harness.md): crash, keepalive, FIN_WAIT2 and retransmission timers. */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['crash', 'keepalive', 'fin-wait2', 'retrans-giveup']);
