/**
 * The lab services and the host faults of `tcpstack up` through a real TUN
 * device, in a throw-away namespace per test, against the kernel's own TCP:
 * the client is python3 in the namespace, and what it reports are the errnos
 * the kernel gives it. SIGUSR1/SIGUSR2 go to the PID of the `up` process
 * (the launcher execs node, so that PID is the stack's).
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { execInNetns } from '../../tun/netns.ts';
import { interopSkipReason, parseCounters, removeNetns, startCli, uniqueNetns, type RunningStack } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'python3']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`interop lab tests skipped: ${skip}`);

const ADDR = '198.18.0.2';

type Teardown = { teardown: (fn: () => void | Promise<void>) => void };

async function stackInNetns(t: Teardown, extra: string[] = []): Promise<{ netns: string; stack: RunningStack }> {
  const netns = uniqueNetns('lab');
  const stack = startCli(['up', '--netns', netns, ...extra]);
  t.teardown(async () => {
    await stack.stop('SIGTERM'); // a graceful exit removes its control socket; stop() falls back to SIGKILL
    removeNetns(netns);
  });
  await stack.ready();
  return { netns, stack };
}

/** Polls `condition` every 20 ms until it holds; throws after `timeoutMs`. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends `signal` to the stack's PID and waits for the line it prints in answer. */
async function signalStack(stack: RunningStack, signal: NodeJS.Signals, line: RegExp): Promise<string> {
  const before = stack.stdout.length;
  process.kill(stack.pid, signal);
  let match: RegExpExecArray | null = null;
  await until(`"${line.source}" after ${signal}`, () => (match = line.exec(stack.stdout.slice(before))) !== null);
  return match![0];
}

/**
 * A kernel TCP client in the namespace, driven line by line: each command
 * prints one JSON answer. Sockets are named; recv answers
 * {"data": ...} | {"eof": true} | {"timeout": true} | {"errno": "ECONNRESET"}.
 */
const CLIENT = `
import errno, fcntl, json, socket, struct, sys, termios
socks = {}
def answer(x): print(json.dumps(x), flush=True)
for line in sys.stdin:
    cmd, name, arg = (line.rstrip('\\n').split(' ', 2) + ['', ''])[:3]
    try:
        if cmd == 'open':
            socks[name] = socket.create_connection(('${ADDR}', int(arg)), timeout=10); answer({'ok': True})
        elif cmd == 'send':
            socks[name].sendall(arg.encode()); answer({'ok': True})
        elif cmd == 'recv':
            s = socks[name]; s.settimeout(int(arg) / 1000)
            try:
                d = s.recv(65536)
                answer({'data': d.decode('latin1')} if d else {'eof': True})
            except socket.timeout:
                answer({'timeout': True})
        elif cmd == 'outq':
            # SIOCOUTQ: bytes sent and not yet acknowledged, plus unsent ones
            n = struct.unpack('I', fcntl.ioctl(socks[name].fileno(), termios.TIOCOUTQ, struct.pack('I', 0)))[0]
            answer({'outq': n})
        else:
            answer({'bad': cmd})
    except OSError as e:
        answer({'errno': errno.errorcode.get(e.errno, str(e))})
    except Exception as e:
        answer({'bad': repr(e)})
`;

type Answer = { ok?: true; data?: string; eof?: true; timeout?: true; errno?: string; outq?: number; bad?: string };

class KernelClient {
  private readonly child: ChildProcess;
  private buffer = '';
  private readonly lines: string[] = [];
  private stderr = '';

  constructor(netns: string) {
    this.child = spawn('ip', ['netns', 'exec', netns, 'python3', '-u', '-c', CLIENT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buffer += d;
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
  }

  async do(command: string, timeoutMs = 15_000): Promise<Answer> {
    this.child.stdin!.write(`${command}\n`);
    await until(`the client's answer to "${command}"`, () => this.lines.length > 0 || this.child.exitCode !== null, timeoutMs);
    if (this.lines.length === 0) throw new Error(`the client exited: ${this.stderr}`);
    return JSON.parse(this.lines.shift()!) as Answer;
  }

  /** Ends the client (only this process, by its handle). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function kernelClient(t: Teardown, netns: string): KernelClient {
  const client = new KernelClient(netns);
  t.teardown(() => client.kill());
  return client;
}

interop('lab services: partial-read and linger0 reset the kernel client (ECONNRESET, then EOF), close-on-accept gives EOF', async (t) => {
  const { netns, stack } = await stackInNetns(t, ['--services', 'lab']);
  t.regex(stack.stdout, /services=partial-read:4001,close-on-accept:4002,linger0:4003,no-accept:4004:1,no-read:4005/);
  const r = await execInNetns(
    netns,
    [
      'python3',
      '-c',
      `
import errno, socket
def rd(s):
    try:
        d = s.recv(100)
        return 'data' if d else 'eof'
    except OSError as e:
        return errno.errorcode[e.errno]
def snd(s):
    try:
        s.send(b'x' * 10); return 'sent'
    except OSError as e:
        return errno.errorcode[e.errno]
a = socket.create_connection(('${ADDR}', 4001), timeout=10)
a.sendall(b'p' * 5000)
partial = [rd(a), rd(a), snd(a)]
b = socket.create_connection(('${ADDR}', 4003), timeout=10)
b.sendall(b'hello')
linger = [rd(b), rd(b)]
c = socket.create_connection(('${ADDR}', 4002), timeout=10)
close = [rd(c)]
print(' '.join(partial), '|', ' '.join(linger), '|', ' '.join(close))
`,
    ],
    { timeoutMs: 60_000 },
  );
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'ECONNRESET eof EPIPE | ECONNRESET eof | eof');
  const counters = parseCounters((await stack.stop()).stdout);
  t.is(counters.get('TcpExtTCPAbortOnClose'), 1, 'partial-read: close with unread data');
  t.is(counters.get('TcpExtTCPAbortOnData'), 1, 'linger0: SO_LINGER 0');
  t.is(counters.get('TcpPassiveOpens'), 3);
});

interop('SIGUSR1: the host crashes and restarts; the old connection is answered with a RST (ECONNRESET), a new one works', async (t) => {
  const { netns, stack } = await stackInNetns(t);
  const client = kernelClient(t, netns);
  t.deepEqual(await client.do('open old 7'), { ok: true });
  t.deepEqual(await client.do('send old before'), { ok: true });
  t.deepEqual(await client.do('recv old 5000'), { data: 'before' });

  const line = await signalStack(stack, 'SIGUSR1', /^tcpstack: SIGUSR1: .*$/m);
  t.regex(line, /^tcpstack: SIGUSR1: host crashed and restarted, 1 connection forgotten, services=echo:7,discard:9,daytime:13,chargen:19,chat:23,http:80$/);

  // The stack forgot the connection: the client's next data finds no socket.
  t.deepEqual(await client.do('send old after'), { ok: true });
  t.deepEqual(await client.do('recv old 5000'), { errno: 'ECONNRESET' });
  t.deepEqual(await client.do('open new 7'), { ok: true });
  t.deepEqual(await client.do('send new again'), { ok: true });
  t.deepEqual(await client.do('recv new 5000'), { data: 'again' });

  const exited = await stack.stop();
  t.is(exited.code, 0, exited.stderr);
  t.is(exited.stderr, '', 'no exception from the old incarnation');
  t.true((parseCounters(exited.stdout).get('TcpOutRsts') ?? 0) >= 1);
});

interop('SIGUSR2: frozen echo; the data is ACKed (SIOCOUTQ 0) but not echoed; unfrozen, the echo arrives', async (t) => {
  const { netns, stack } = await stackInNetns(t, ['--services', 'echo']);
  const client = kernelClient(t, netns);
  t.deepEqual(await client.do('open a 7'), { ok: true });
  t.deepEqual(await client.do('send a warm'), { ok: true });
  t.deepEqual(await client.do('recv a 5000'), { data: 'warm' });

  t.is(await signalStack(stack, 'SIGUSR2', /^tcpstack: SIGUSR2: .*$/m), 'tcpstack: SIGUSR2: applications frozen (the stack keeps running)');
  t.deepEqual(await client.do('send a frozen'), { ok: true });
  t.deepEqual(await client.do('recv a 300'), { timeout: true }, 'no echo within 300 ms');
  // The stack still acknowledges: nothing is left in the kernel's send queue.
  let outq: number | undefined;
  await until('SIOCOUTQ 0', async () => (outq = (await client.do('outq a')).outq) === 0);
  t.is(outq, 0);
  t.deepEqual(await client.do('recv a 100'), { timeout: true }, 'still no echo');

  const line = await signalStack(stack, 'SIGUSR2', /^tcpstack: SIGUSR2: .*$/m);
  t.regex(line, /^tcpstack: SIGUSR2: applications unfrozen \(\d+ deferred events and calls resumed\)$/);
  t.deepEqual(await client.do('recv a 5000'), { data: 'frozen' });

  const exited = await stack.stop();
  t.is(exited.code, 0, exited.stderr);
  t.is(exited.stderr, '');
});
