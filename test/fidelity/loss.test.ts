/** Fidelity against the kernel, one test per differential scenario (docs/differential-harness.md#loss-scenarios): loss, reordering and duplication under CUBIC and Reno over a 50 ms path. */
import test from 'ava';
import { LOSS_SCENARIO_NAMES } from '../../cli/scenario/scenarios/loss.ts';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, LOSS_SCENARIO_NAMES);
