/** Fidelity against the kernel: crafted segments, listener queues, blocked receiver, listener close (issue 4, scenarios 10-14). */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['rfc5961', 'bad-ack', 'accept-overflow', 'app-blocked', 'listener-close']);
