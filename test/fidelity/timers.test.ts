/** Fidelity against the kernel: crash, keepalive, FIN_WAIT2 and retransmission timers (issue 4, scenarios 6-9). */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['crash', 'keepalive', 'fin-wait2', 'retrans-giveup']);
