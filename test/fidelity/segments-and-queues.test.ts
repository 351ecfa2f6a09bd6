/** Fidelity against the kernel, one test per differential scenario (docs/differential-harness.md): crafted segments, listener queues, blocked receiver, listener close. */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['rfc5961', 'bad-ack', 'accept-overflow', 'app-blocked', 'listener-close']);
