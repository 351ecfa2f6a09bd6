/**
 * `make demo` (cli/demo.sh) from the outside, its stdout not a terminal:
 * plain text, every step's evidence (the ping replies, the echoed line, both
 * RSTs with their reasons, the lossy transfer's retransmissions), the path
 * of a time-sequence graph that exists and is one, and nothing left
 * behind: no namespace, no process. Its files go to a temporary directory
 * this test makes (TMPDIR) and removes.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsExists } from '../../tun/netns.ts';
import { ROOT, interopSkipReason } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'ping', 'nc']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`demo test skipped: ${skip}`);

interop('make demo: plain text, both RSTs with their reasons, and the path of a readable time-sequence graph; nothing left behind', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'tcpstack-demo-test-'));
  try {
    const run = spawnSync('sh', [join(ROOT, 'cli', 'demo.sh')], { env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8', timeout: 120_000 });
    const out = run.stdout;
    t.is(run.status, 0, `${out}\n${run.stderr}`);
    t.false(out.includes('\u001b['), 'no terminal escapes when stdout is not a terminal');
    t.regex(out, /3 packets transmitted, 3 received/);
    t.regex(out, /^hello, tcpstack$/m);
    t.regex(out, /RST via noSocket \(tcp_v4_send_reset, NO_SOCKET\)/);
    t.regex(out, /RST via closeWithUnread \(tcp_send_active_reset, TCP_ABORT_ON_CLOSE\)/);
    t.regex(out, /bytes echoed: 524288/);
    t.regex(out, /TcpRetransSegs\s+[1-9]/, 'the transfer through 5 % loss retransmitted');
    const ns = /namespace (tcpstack-demo-\d+)/.exec(out)?.[1];
    t.truthy(ns);
    t.false(netnsExists(ns!), 'the namespace is gone');
    const svgPath = /^\s+(\S+\.svg)\s/m.exec(out)?.[1];
    t.truthy(svgPath, 'the graph path is printed');
    t.true(existsSync(svgPath!));
    const svg = readFileSync(svgPath!, 'utf8');
    t.true(svg.startsWith('<svg') || svg.includes('<svg'), 'an SVG');
    t.regex(svg, /retransmission/i, 'the graph marks retransmissions');
    const pngPath = svgPath!.replace(/\.svg$/, '.png');
    t.deepEqual([...readFileSync(pngPath).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    // tsx keeps its compile cache in TMPDIR too (tsx-UID): not the demo's.
    t.deepEqual(
      readdirSync(tmp).filter((f) => !f.startsWith('tsx-')),
      [svgPath!.split('/').at(-2)],
      'one output directory, and the script removed its log',
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
