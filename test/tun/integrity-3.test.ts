/** Integrity under faults in virtual time, seeds 11-15 of 20 (test/tun/integrity.ts). */
import test from 'ava';
import { integritySeeds } from './integrity.ts';

integritySeeds(test, 11, 15);
