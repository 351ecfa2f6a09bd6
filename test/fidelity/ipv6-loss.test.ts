/**
 * Fidelity against the kernel over IPv6 (docs/differential-harness.md#over-ipv6),
 * a representative part: retransmission timers, segment faults on 1428-byte
 * segments (drop, duplicate through the loopback device, reorder through
 * NFQUEUE), the 50 ms path, the subject's counters. `make fidelity` runs
 * every scenario in both families; these run in `make test` beside the IPv4 ones.
 */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['retrans-giveup', 'injected-acks', 'loss-mid-cubic', 'loss-reorder-reno', 'loss-dup-cubic'], { family: 6 });
