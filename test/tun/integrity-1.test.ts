/** Integrity under faults in virtual time, seeds 1-5 of 20 (test/tun/integrity.ts). */
import test from 'ava';
import { integritySeeds } from './integrity.ts';

integritySeeds(test, 1, 5);
