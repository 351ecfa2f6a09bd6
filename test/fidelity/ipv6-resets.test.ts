/**
 * Fidelity against the kernel over IPv6 (docs/differential-harness.md#over-ipv6),
 * a representative part: reply and active resets, crafted segments, a crash,
 * faults that drop everything one side sends. `make fidelity` runs every
 * scenario in both families; these run in `make test` beside the IPv4 ones.
 */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['no-listener', 'connect-timeout', 'close-unread', 'linger0', 'crash', 'rfc5961', 'bad-ack'], { family: 6 });
