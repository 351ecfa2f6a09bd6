/** Fidelity against the kernel, one test per differential scenario (docs/differential-harness.md): in-window injection, the send window, storms. */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['window-injection', 'injected-acks', 'injection-storm']);
