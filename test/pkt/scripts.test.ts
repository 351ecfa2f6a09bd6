/**
 * Every packet script in test/scripts runs through `tcpstack pkt`'s runner
 * in each of packetdrill's IP versions (ipv4, ipv4-mapped-ipv6, ipv6), one
 * ava test per script and version. Each script describes Linux: it passes
 * under the real packetdrill against Linux 6.18 in the same versions (its
 * header says on which kernel, and in which versions). A script named
 * *v4.pkt or *v6.pkt is one family's (its ICMP lines, or Fast Open
 * cookies of one family's addresses): packetdrill's run_all.py runs it in
 * that family only, and in the other packetdrill fails it (refusing an
 * ICMP line while reading it, or at the first cookie); that failure is
 * what its test checks there. A script our stack fails
 * because of a known gap is listed below with the reason and registered as
 * test.failing, so it flips to a failure (to be removed from the list) when
 * the stack is fixed.
 */
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ScriptError } from '../../cli/pkt/ast.ts';
import { IP_VERSIONS, scriptRunsIn, type IpVersion } from '../../cli/pkt/ip-version.ts';
import { parseScript } from '../../cli/pkt/parser.ts';
import { runScript, runScriptFile } from '../../cli/pkt/runner.ts';

const DIR = join(import.meta.dirname, '..', 'scripts');

/** Script → the stack gap that makes it fail (found by these scripts; see each script's first mismatch). */
const KNOWN_GAPS: Readonly<Record<string, string>> = {};

const scripts = readdirSync(DIR)
  .filter((f) => f.endsWith('.pkt'))
  .sort();

/** The versions a header's confirmation line names, as that line spells them. */
function confirmedIn(name: string): string {
  const runs = IP_VERSIONS.filter((v) => scriptRunsIn(name, v));
  if (runs.length === 3) return 'ipv4, ipv6 and ipv4-mapped-ipv6 modes';
  return runs.length === 2 ? 'ipv4 and ipv4-mapped-ipv6 modes' : 'ipv6 mode';
}

test('the suite holds the scripts the known-gap list names', (t) => {
  for (const name of Object.keys(KNOWN_GAPS)) t.true(scripts.includes(name), `${name} is listed as a known gap but does not exist`);
  t.true(scripts.length >= 12, `only ${scripts.length} scripts`);
});

test('every script says in its header which kernel confirmed it, and in which IP versions', (t) => {
  for (const name of scripts) {
    const header = readFileSync(join(DIR, name), 'utf8').split('\n').filter((l) => l.startsWith('//'));
    t.true(
      header.some((l) => /^\/\/ Confirmed with packetdrill on Linux \d+\.\d+\.\d+/.test(l)),
      `${name} lacks "// Confirmed with packetdrill on Linux X.Y.Z"`,
    );
    const modes = confirmedIn(name);
    t.true(
      header.some((l) => new RegExp(`^// Confirmed with packetdrill on Linux \\d+\\.\\d+\\.\\d+ in ${modes}$`).test(l)),
      `${name}: the confirmation line should end "in ${modes}"`,
    );
  }
});

/** run_all.py's definitions for the error queue's cmsg: SOL_IP/IP_RECVERR over IPv4, SOL_IPV6/IPV6_RECVERR on an IPv6 socket (v4-mapped too). */
function cmsgDefines(version: IpVersion): { name: string; value: string }[] {
  const v4 = version === 'ipv4';
  return [
    { name: 'define', value: `CMSG_LEVEL_IP=${v4 ? 'SOL_IP' : 'SOL_IPV6'}` },
    { name: 'define', value: `CMSG_TYPE_RECVERR=${v4 ? 'IP_RECVERR' : 'IPV6_RECVERR'}` },
  ];
}

function runIn(name: string, version: IpVersion): (t: import('ava').ExecutionContext) => void {
  return (t) => {
    const r = runScriptFile(join(DIR, name), { options: [{ name: 'ip_version', value: version }, ...cmsgDefines(version)] });
    if (!r.ok) {
      t.fail(r.skipped ? `skipped in ${version}` : [r.error!.headline(), ...r.error!.details].join('\n'));
      return;
    }
    t.pass();
  };
}

/**
 * In a version its name excludes, the script fails as it does under
 * packetdrill: one with an ICMP line does not even read (the line names the
 * other family's message); one whose Fast Open cookies are for IPv4
 * addresses, run under a name that selects no family, sees the SYN-ACK
 * carry another cookie (the IPv6 addresses' one, e3aa039e48122544 under
 * packetdrill on Linux 6.18.44 too).
 */
function refusedIn(name: string, version: IpVersion): (t: import('ava').ExecutionContext) => void {
  return (t) => {
    const text = readFileSync(join(DIR, name), 'utf8');
    if (/^\s*[+\d.]+\s+[<>].*\bicmp\b/m.test(text)) {
      const e = t.throws(() => parseScript(text, name, version), { instanceOf: ScriptError });
      t.regex(e?.message ?? '', /^semantic error: bad ICMP (type packet_too_big|code frag_needed)$/);
      return;
    }
    const r = runScript(text, name.replace(/-v[46]\.pkt$/, '.pkt'), { options: [{ name: 'ip_version', value: version }, ...cmsgDefines(version)] });
    t.false(r.ok);
    t.regex(r.error?.headline() ?? '', /error handling packet: bad value in outbound TCP option \(kind=34\): expected: FO \w+ actual: FO \w+$/);
  };
}

for (const name of scripts) {
  const gap = KNOWN_GAPS[name];
  for (const version of IP_VERSIONS) {
    if (!scriptRunsIn(name, version)) {
      test(`${name} [${version}] is the other family's: refused as packetdrill refuses it`, refusedIn(name, version));
    } else if (gap) {
      test.failing(`${name} [${version}] (known stack gap: ${gap})`, runIn(name, version));
    } else {
      test(`${name} [${version}]`, runIn(name, version));
    }
  }
}
