/** Integrity under faults in virtual time, seeds 16-20 of 20 (test/tun/integrity.ts). */
import test from 'ava';
import { integritySeeds } from './integrity.ts';

integritySeeds(test, 16, 20);
