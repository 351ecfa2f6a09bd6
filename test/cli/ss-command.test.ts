/**
 * `tcpstack ss FILTER` and `ss -K FILTER` end to end: the command, run as a
 * user runs it, against a control socket in front of two of our stacks in
 * virtual time (the server's side, stack B). What ss selects is
 * test/cli/ss-filter.test.ts's; here, what it prints (the State column left
 * out for one state, -K listing what it destroyed, as iproute2's ss -K does)
 * and what -K does to the sockets.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackTarget } from '../../cli/ctl/start.ts';
import { ControlServer } from '../../cli/ctl/server.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { CLI } from '../helpers/interop.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const RUN_DIR = mkdtempSync(join(tmpdir(), 'tcpstack-ss-'));
test.after.always(() => rmSync(RUN_DIR, { recursive: true, force: true }));

/** Runs the CLI without blocking the event loop (the control socket answers from it), bounded in time. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TCPSTACK_RUN_DIR: RUN_DIR } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Stack B listens on 7 and 9; two clients of A are connected to 7. */
function twoClients(): { w: World; clients: Endpoint[]; accepted: Endpoint[] } {
  const w = new World();
  const accepted: Endpoint[] = [];
  for (const port of [7, 9]) {
    const server = w.b.tcp.socket();
    server.bind(0, port);
    server.listen(8);
    server.onEvent = () => {
      for (let child = server.accept(); child !== null; child = server.accept()) accepted.push(child);
    };
  }
  const clients = [w.a.tcp.socket(), w.a.tcp.socket()];
  for (const c of clients) c.connect(formatIpv4(ADDR_B), 7);
  w.run(1000, () => accepted.length === 2);
  return { w, clients, accepted };
}

test('ss state established: no State column, as ss prints one state; the connections only', async (t) => {
  const { w, clients } = twoClients();
  const path = join(RUN_DIR, 'one-state.sock');
  const ctl = await ControlServer.listen(path, stackTarget(w.b, { counters: w.b.counters }, () => ({})));
  try {
    const r = await cli(['ss', '--ctl', path, 'state', 'established']);
    t.is(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => !l.startsWith('\t') && l !== '');
    t.is(lines[0], `${'Recv-Q'.padStart(7)} ${'Send-Q'.padStart(7)}  ${'Local Address:Port'.padEnd(22)} Peer Address:Port`);
    t.deepEqual(
      lines.slice(1).map((l) => l.trim().split(/\s+/).slice(2)),
      clients.map((c) => ['198.18.0.2:7', `198.18.0.1:${c.localPort}`]),
    );
    const two = await cli(['ss', '--ctl', path, 'state', 'listening', 'state', 'established', 'sport = :9']);
    t.is(two.code, 0, two.stderr);
    t.deepEqual(two.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/)[0]), ['LISTEN'], 'two states: the column is back');
  } finally {
    ctl.close();
  }
});

test('ss -K dport = :PORT destroys that connection only and lists it as ss -K does; -K state listening closes the listeners', async (t) => {
  const { w, clients, accepted } = twoClients();
  const path = join(RUN_DIR, 'kill.sock');
  const ctl = await ControlServer.listen(path, stackTarget(w.b, { counters: w.b.counters }, () => ({})));
  try {
    const [first, second] = clients as [Endpoint, Endpoint];
    const r = await cli(['ss', '--ctl', path, '-K', 'dport', '=', `:${first.localPort}`]);
    t.is(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => !l.startsWith('\t') && l !== '');
    t.regex(rows[0]!, /^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port$/);
    t.deepEqual(rows.slice(1).map((l) => l.split(/\s+/)), [['ESTAB', '0', '0', '198.18.0.2:7', `198.18.0.1:${first.localPort}`]]);
    w.run(w.clock.now() + 1000, () => first.state === 'CLOSED');
    t.is(first.getError(), 'ECONNRESET', 'the peer hears of it');
    t.is(accepted[0]!.getError(), 'ECONNABORTED', "the application's socket, destroyed under it");
    t.is(second.state, 'ESTABLISHED');

    // No state word: -K takes ss's default, which has no listeners in it.
    const none = await cli(['ss', '--ctl', path, '-K', '--json', 'sport', ':9']);
    t.is(none.code, 0, none.stderr);
    t.deepEqual(JSON.parse(none.stdout), { killed: 0, listeners: [], connections: [] });
    t.is(w.b.tcp.listeners().length, 2);

    const listeners = await cli(['ss', '--ctl', path, '-K', 'state', 'listening', 'sport', '=', ':9']);
    t.is(listeners.code, 0, listeners.stderr);
    t.deepEqual(listeners.stdout.trimEnd().split('\n').slice(1).map((l) => l.trim().split(/\s+/)), [['0', '8', '0.0.0.0:9', '0.0.0.0:*']], 'one state: no State column');
    t.deepEqual(w.b.tcp.listeners().map((l) => l.localPort), [7]);
    t.is(second.state, 'ESTABLISHED', 'a listener is not its connections');

    // The older options are the expressions they stand for.
    const legacy = await cli(['ss', '--ctl', path, '-K', '--sport', '7', '--dst', '198.18.0.1', '--dport', String(second.localPort)]);
    t.is(legacy.code, 0, legacy.stderr);
    t.deepEqual(legacy.stdout.split('\n').filter((l) => l.startsWith('ESTAB')).map((l) => l.split(/\s+/).at(-1)), [`198.18.0.1:${second.localPort}`], legacy.stdout);
    w.run(w.clock.now() + 1000, () => second.state === 'CLOSED');
    t.is(second.getError(), 'ECONNRESET');
  } finally {
    ctl.close();
  }
});

test('ss misuse names what is wrong: a state name, an expression, -a with -l', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['ss', 'state', 'listen'], /^tcpstack: error: ss: wrong state name: listen \(known: /],
    [['ss', 'sport', '=', ':http'], /^tcpstack: error: ss: ":http" does not look like a port/],
    [['ss', '-a', '-l'], /^tcpstack: error: -a and -l exclude each other$/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr.trimEnd(), message);
    t.is(r.stderr.trimEnd().split('\n').length, 1);
  }
});
