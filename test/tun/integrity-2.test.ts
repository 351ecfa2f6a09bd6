/** Integrity under faults in virtual time, seeds 6-10 of 20 (test/tun/integrity.ts). */
import test from 'ava';
import { integritySeeds } from './integrity.ts';

integritySeeds(test, 6, 10);
