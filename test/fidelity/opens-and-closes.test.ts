/** Fidelity against the kernel: refused and timed-out opens, the close paths (issue 4, scenarios 1-5). */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['no-listener', 'connect-timeout', 'close-unread', 'linger0', 'data-after-close']);
