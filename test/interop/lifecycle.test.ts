/**
 * The life of `tcpstack up` and `tcpstack connect` from the outside: whatever
 * moment a stop signal comes (during start-up, twice in a row, under load
 * with --trace), the process exits and what it created (the namespace with
 * the device, the control socket) is gone afterwards. Signals go to the PID
 * of the process this file started, nothing else. Also: the namespace `up`
 * creates has its lo up; one that existed before is left as it was.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createNetns, execInNetns, netnsExists, runIp } from '../../tun/netns.ts';
import { CLI, RunningStack, interopSkipReason, removeNetns, startCli, uniqueNetns, type Exited } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'python3']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`interop lifecycle tests skipped: ${skip}`);

const ADDR = '198.18.0.2';
const PEER = '198.18.0.1';
const SIGNO = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof SIGNO;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms until it holds; throws after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}

function alive(stack: RunningStack): boolean {
  return stack.child.exitCode === null && stack.child.signalCode === null;
}

/** Waits (bounded) for the exit; a process still there after `timeoutMs` is SIGKILLed and reported. */
async function exitOf(stack: RunningStack, timeoutMs = 15_000): Promise<Exited & { killed: boolean }> {
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    stack.child.kill('SIGKILL');
  }, timeoutMs);
  try {
    return { ...(await stack.exited), killed };
  } finally {
    clearTimeout(timer);
  }
}

function ctlPath(ready: string): string | undefined {
  return /\bctl=(\S+)/.exec(ready)?.[1];
}

interop('up: a second stop signal 0-20 ms after the first does not abort the teardown (10 times)', async (t) => {
  for (let i = 0; i < 10; i++) {
    const netns = uniqueNetns('twice');
    const signal: StopSignal = i % 2 === 0 ? 'SIGTERM' : 'SIGINT';
    const gap = i * 2;
    const stack = startCli(['up', '--netns', netns, '--services', 'echo']);
    try {
      const ctl = ctlPath(await stack.ready());
      process.kill(stack.pid, signal);
      await delay(gap);
      if (alive(stack)) process.kill(stack.pid, signal);
      const exited = await exitOf(stack);
      const what = `${signal} twice, ${gap} ms apart`;
      t.false(exited.killed, `${what}: exited by itself`);
      // A second signal that lands after the teardown and the report, while
      // Node itself is exiting (its signal watchers already closed), meets
      // the default action: nothing was left to abort then. Anything sooner
      // must be ignored.
      const reportDone = /\ngc pauses since ready: [^\n]*\n$/.test(exited.stdout);
      if (exited.signal !== null && reportDone) t.log(`${what}: the second signal came after the report, as Node was exiting`);
      else {
        t.is(exited.signal, null, `${what}: not killed by the second signal`);
        t.is(exited.code, 0, `${what}: ${exited.stderr}`);
      }
      t.regex(exited.stdout, new RegExp(`^stopped by ${signal};`, 'm'), what);
      t.false(netnsExists(netns), `${what}: namespace removed`);
      if (ctl !== undefined) t.false(existsSync(ctl), `${what}: control socket removed`);
    } finally {
      if (alive(stack)) stack.child.kill('SIGKILL');
      removeNetns(netns);
    }
  }
});

interop('up: a stop signal at any moment of start-up ends in a clean exit (10 times, 0-1 s after spawn)', async (t) => {
  for (let i = 0; i < 10; i++) {
    const netns = uniqueNetns('early');
    const signal: StopSignal = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
    const after = i * 110;
    const stack = startCli(['up', '--netns', netns, '--services', 'echo']);
    try {
      await delay(after);
      if (alive(stack)) process.kill(stack.pid, signal);
      const exited = await exitOf(stack);
      const what = `${signal} ${after} ms after spawn`;
      t.false(exited.killed, `${what}: exited by itself`);
      // Before the handlers are in, Node's default action ends the process, and nothing was created yet.
      if (exited.signal === null) {
        t.is(exited.code, 0, `${what}: ${exited.stderr}`);
        t.regex(exited.stdout, new RegExp(`^stopped by ${signal};`, 'm'), what);
      } else {
        t.is(exited.signal, signal, what);
      }
      t.notRegex(exited.stderr, /internal error|^\s+at /m, what);
      t.false(netnsExists(netns), `${what}: namespace removed`);
      t.false(existsSync(`/run/tcpstack/${stack.pid}.sock`), `${what}: control socket removed`);
    } finally {
      if (alive(stack)) stack.child.kill('SIGKILL');
      removeNetns(netns);
    }
  }
});

interop('up: Ctrl-C at a terminal (SIGINT to its whole process group, the ip commands included) during start-up (8 times)', async (t) => {
  // When the namespace appears on this machine: the signals land around it, while `ip` runs.
  const probe = uniqueNetns('ctrlc');
  const spawned = Date.now();
  const first = startCli(['up', '--netns', probe, '--services', 'echo']);
  let appears = 0;
  try {
    await until('the namespace', () => netnsExists(probe));
    appears = Date.now() - spawned;
    await first.ready();
  } finally {
    await first.stop();
    removeNetns(probe);
  }
  for (let i = 0; i < 8; i++) {
    const netns = uniqueNetns('ctrlc');
    const after = Math.max(0, appears - 30 + i * 8);
    // A process group of its own, as a shell gives a foreground job: only it and its children get the signal.
    const stack = new RunningStack(spawn(CLI, ['up', '--netns', netns, '--services', 'echo'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
    try {
      await delay(after);
      if (alive(stack)) process.kill(-stack.pid, 'SIGINT');
      const exited = await exitOf(stack);
      const what = `SIGINT to the group ${after} ms after spawn`;
      t.false(exited.killed, `${what}: exited by itself`);
      if (exited.signal === null) t.is(exited.code, 0, `${what}: ${exited.stderr}`);
      else t.is(exited.signal, 'SIGINT', what);
      t.notRegex(exited.stderr, /internal error|^\s+at /m, what);
      t.false(netnsExists(netns), `${what}: namespace removed`);
    } finally {
      if (alive(stack)) stack.child.kill('SIGKILL');
      removeNetns(netns);
    }
  }
});

interop('connect: a second stop signal during the teardown, or one during start-up, still removes the namespace', async (t) => {
  // 198.18.0.9 answers nothing (no such host on the link): connect stays in SYN_SENT until stopped.
  for (let i = 0; i < 8; i++) {
    const netns = uniqueNetns('conn');
    const signal: StopSignal = i % 2 === 0 ? 'SIGTERM' : 'SIGINT';
    const stack = startCli(['connect', '--netns', netns, '198.18.0.9', '7']);
    const early = i >= 4;
    const what = early ? `${signal} ${(i - 4) * 150} ms after spawn` : `${signal} twice, ${i * 5} ms apart`;
    try {
      if (early) {
        await delay((i - 4) * 150);
        if (alive(stack)) process.kill(stack.pid, signal);
      } else {
        await until('the device in the namespace', () => netnsExists(netns) && devicePresent(netns));
        process.kill(stack.pid, signal);
        await delay(i * 5);
        if (alive(stack)) process.kill(stack.pid, signal);
      }
      const exited = await exitOf(stack);
      t.false(exited.killed, `${what}: exited by itself`);
      if (exited.signal === null) t.is(exited.code, 128 + SIGNO[signal], `${what}: ${exited.stderr}`);
      else t.true(early && exited.signal === signal, `${what}: killed by ${exited.signal}`);
      t.notRegex(exited.stderr, /internal error|^\s+at /m, what);
      t.false(netnsExists(netns), `${what}: namespace removed`);
    } finally {
      if (alive(stack)) stack.child.kill('SIGKILL');
      removeNetns(netns);
    }
  }
});

function devicePresent(netns: string): boolean {
  try {
    runIp(['-n', netns, 'link', 'show', 'dev', 'tcp0']);
    return true;
  } catch {
    return false;
  }
}

/** Kernel-side traffic for `seconds`: one client pulls from chargen, one pushes into discard. */
const LOAD = (seconds: number): string => `
import socket, threading, time
end = time.time() + ${seconds}
def pull():
    s = socket.create_connection(('${ADDR}', 19), timeout=5)
    while time.time() < end and s.recv(1 << 16): pass
def push():
    s = socket.create_connection(('${ADDR}', 9), timeout=5)
    b = b'x' * 65536
    while time.time() < end: s.sendall(b)
ts = [threading.Thread(target=f) for f in (pull, push)]
for x in ts: x.start()
for x in ts: x.join()
print('ok')
`;

interop('up --trace under load, stdout read late: two SIGTERMs while traffic flows, the namespace and the control socket are removed', async (t) => {
  const netns = uniqueNetns('load');
  // The timeline runs to many MB: read and dropped here, only the ready line is kept.
  const child = spawn(CLI, ['up', '--netns', netns, '--trace', '--services', 'chargen,discard'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let head = '';
  let stderr = '';
  let bytes = 0;
  child.stdout.on('data', (d: Buffer) => {
    bytes += d.length;
    if (head.length < 4096) head += d.toString('utf8');
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let killed = false;
  try {
    await until('the ready line', () => /^ready /m.test(head) || child.exitCode !== null, 20_000);
    const ready = /^ready .*$/m.exec(head)?.[0] ?? '';
    t.not(ready, '', stderr);
    const load = execInNetns(netns, ['python3', '-c', LOAD(3)], { timeoutMs: 20_000 });
    await until('traffic', () => bytes > 1_000_000, 10_000);
    // A reader that falls behind (a pager, a slow terminal) blocks the writes of
    // the timeline, and with them the event loop: the two signals of an
    // impatient user are both pending when the loop turns again.
    child.stdout.pause();
    await delay(1000);
    process.kill(child.pid!, 'SIGTERM');
    await delay(300);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    await delay(500);
    child.stdout.resume();
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, 20_000);
    const status = await exited;
    clearTimeout(timer);
    await load;
    t.false(killed, 'exited by itself');
    t.deepEqual(status, { code: 0, signal: null }, stderr);
    t.false(netnsExists(netns), 'namespace removed');
    const ctl = ctlPath(ready);
    if (ctl !== undefined) t.false(existsSync(ctl), 'control socket removed');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    removeNetns(netns);
  }
});

interop('up --trace whose stdout reader goes away: one line, exit 1, and the teardown runs', async (t) => {
  const netns = uniqueNetns('epipe');
  const stack = startCli(['up', '--netns', netns, '--trace', '--services', 'echo']);
  try {
    await stack.ready();
    // Our end of its stdout closes: the next timeline line gets EPIPE, an uncaught error in the stack's process.
    stack.child.stdout!.destroy();
    const ping = execInNetns(netns, ['ping', '-c', '20', '-i', '0.05', '-W', '1', ADDR], { timeoutMs: 10_000 });
    const exited = await exitOf(stack);
    await ping;
    t.false(exited.killed, 'exited by itself');
    t.is(exited.code, 1);
    t.is(exited.stderr, 'tcpstack: stdout: EPIPE; stopped\n', 'one line, no stack trace');
    t.false(netnsExists(netns), 'namespace removed');
    t.false(existsSync(`/run/tcpstack/${stack.pid}.sock`), 'control socket removed');
  } finally {
    if (alive(stack)) stack.child.kill('SIGKILL');
    removeNetns(netns);
  }
});

interop('up: the namespace it creates has lo up (the kernel side reaches its own address); one that existed is left as it was', async (t) => {
  const created = uniqueNetns('lo');
  const stack = startCli(['up', '--netns', created, '--services', 'echo']);
  try {
    await stack.ready();
    const ping = await execInNetns(created, ['ping', '-c', '1', '-W', '2', PEER], { timeoutMs: 10_000 });
    t.is(ping.status, 0, `ping ${PEER} in the namespace up created: ${ping.stdout}${ping.stderr}`);
    const local = await execInNetns(created, ['ping', '-c', '1', '-W', '2', '127.0.0.1'], { timeoutMs: 10_000 });
    t.is(local.status, 0, `ping 127.0.0.1: ${local.stdout}${local.stderr}`);
    await stack.stop();
  } finally {
    await stack.stop('SIGKILL');
    removeNetns(created);
  }

  const existing = uniqueNetns('lo');
  createNetns(existing);
  const other = startCli(['up', '--netns', existing, '--services', 'echo']);
  try {
    await other.ready();
    t.notRegex(runIp(['-n', existing, 'link', 'show', 'dev', 'lo']), /[<,]UP[,>]/, 'lo of a namespace that existed stays down');
    const exited = await other.stop();
    t.is(exited.code, 0, exited.stderr);
    t.true(netnsExists(existing), 'a namespace that existed is not removed');
  } finally {
    await other.stop('SIGKILL');
    removeNetns(existing);
  }
});
