/**
 * Every packet script in test/scripts runs through `tcpstack pkt`'s runner,
 * one ava test each. Each script describes Linux: it passes under the real
 * packetdrill against Linux 6.18 (its header says on which kernel it was
 * confirmed). A script our stack fails because of a known gap is listed
 * below with the reason and registered as test.failing, so it flips to a
 * failure (to be removed from the list) when the stack is fixed.
 */
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runScriptFile } from '../../cli/pkt/runner.ts';

const DIR = join(import.meta.dirname, '..', 'scripts');

/** Script → the stack gap that makes it fail (found by these scripts; see each script's first mismatch). */
const KNOWN_GAPS: Readonly<Record<string, string>> = {};

const scripts = readdirSync(DIR)
  .filter((f) => f.endsWith('.pkt'))
  .sort();

test('the suite holds the scripts the known-gap list names', (t) => {
  for (const name of Object.keys(KNOWN_GAPS)) t.true(scripts.includes(name), `${name} is listed as a known gap but does not exist`);
  t.true(scripts.length >= 12, `only ${scripts.length} scripts`);
});

test('every script says in its header which kernel confirmed it', (t) => {
  for (const name of scripts) {
    const header = readFileSync(join(DIR, name), 'utf8').split('\n').filter((l) => l.startsWith('//'));
    t.true(
      header.some((l) => /^\/\/ Confirmed with packetdrill on Linux \d+\.\d+\.\d+/.test(l)),
      `${name} lacks "// Confirmed with packetdrill on Linux X.Y.Z"`,
    );
  }
});

for (const name of scripts) {
  const gap = KNOWN_GAPS[name];
  const body = (t: import('ava').ExecutionContext): void => {
    const r = runScriptFile(join(DIR, name));
    if (!r.ok) {
      const e = r.error!;
      t.fail([e.headline(), ...e.details].join('\n'));
      return;
    }
    t.pass();
  };
  if (gap) test.failing(`${name} (known stack gap: ${gap})`, body);
  else test(name, body);
}
