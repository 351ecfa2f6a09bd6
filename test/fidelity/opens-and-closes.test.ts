/** Fidelity against the kernel, one test per differential scenario (docs/differential-harness.md): refused and timed-out opens, the close paths. */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['no-listener', 'connect-timeout', 'close-unread', 'linger0', 'data-after-close']);
