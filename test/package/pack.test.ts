/**
 * The package as a user gets it: `npm pack` (its prepack compiles dist/ with
 * tsc), the tarball installed into a scratch project (its install script
 * builds the TUN addon), then
 *   - the tarball holds the compiled entry, its types and the addon's sources,
 *     and nothing of the repository besides;
 *   - a TypeScript program type-checks against the installed package;
 *   - the README's library example, the fenced block between its
 *     library-example markers, run as it stands, serves HTTP from a TUN
 *     device in a throw-away network namespace to the kernel's curl there.
 *
 * The package is packed from a staging copy of what its build reads (the
 * manifest, README, tsconfigs, stack/ and tun/; node_modules linked), so the
 * test writes no dist/ into the working tree and two runs at once do not
 * share one. Everything is bounded in time; the namespace and the example's
 * process (by its PID) are removed in teardown, also after a failure.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, execInNetns } from '../../tun/netns.ts';
import { ROOT, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const STEP_MS = 120_000;

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: Array<{ path: string }>;
}

function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Why the example cannot run here (it needs a TUN device in a namespace and a kernel client), or undefined. */
function exampleSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (TUN devices and network namespaces)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun on this machine';
  for (const tool of ['ip', 'curl']) if (!haveCommand(tool)) return `${tool} is not installed (make test installs it as root)`;
  return undefined;
}

/** Runs a command to completion within STEP_MS; throws with its output unless it exits 0. */
function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: STEP_MS, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.error || r.status !== 0) {
    const how = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} failed (${how}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** The fenced block between the README's library-example markers. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- library-example:start -->');
  const end = readme.indexOf('<!-- library-example:end -->');
  if (start < 0 || end < start) throw new Error('README.md has no <!-- library-example:start --> ... <!-- library-example:end --> block');
  const fenced = /```(?:js|javascript|mjs)\n([\s\S]*?)\n```/.exec(readme.slice(start, end));
  if (!fenced) throw new Error('the README library-example block holds no ```js fenced code');
  return `${fenced[1]}\n`;
}

const packSkip = haveCommand('npm') ? undefined : 'npm is not installed';
const exampleSkip = packSkip ?? exampleSkipReason();
const packTest = packSkip === undefined ? test.serial : test.skip;
const exampleTest = exampleSkip === undefined ? test.serial : test.skip;
if (packSkip !== undefined) console.log(`package tests skipped: ${packSkip}`);
else if (exampleSkip !== undefined) console.log(`package test of the README example skipped: ${exampleSkip}`);

const work = mkdtempSync(join(tmpdir(), 'tcpstack-pack-'));
let packed: PackResult | undefined;
let scratch = '';
let packError: unknown;
let packSeconds = 0;

test.before(() => {
  if (packSkip !== undefined) return;
  const started = Date.now();
  try {
    const staging = join(work, 'staging');
    mkdirSync(staging);
    const addonBuild = join(ROOT, 'tun', 'build');
    const notBuilt = (src: string): boolean => src !== addonBuild && !src.startsWith(`${addonBuild}/`);
    for (const entry of ['package.json', 'package-lock.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'stack', 'tun']) {
      cpSync(join(ROOT, entry), join(staging, entry), { recursive: true, filter: notBuilt });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(staging, 'node_modules'));
    const out = join(work, 'out');
    mkdirSync(out);
    const results = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], staging)) as PackResult[];
    packed = results[0]!;

    scratch = join(work, 'scratch');
    mkdirSync(scratch);
    // allowScripts: npm asks a project to name the packages whose install scripts it trusts.
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', allowScripts: { tcpstack: true } }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(out, packed.filename)], scratch);
  } catch (error) {
    packError = error;
  }
  packSeconds = (Date.now() - started) / 1000;
});

test.after.always(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The pack result, or the before hook's failure thrown into the test. */
function installed(): PackResult {
  if (packError !== undefined) throw packError;
  return packed!;
}

packTest('the tarball holds the compiled entry, its types and the addon sources, and no sources or tests', (t) => {
  const pack = installed();
  t.log(`${pack.filename}: ${pack.size} bytes packed, ${pack.unpackedSize} unpacked, ${pack.entryCount} files; packed and installed in ${packSeconds.toFixed(1)} s`);
  const paths = pack.files.map((f) => f.path);
  for (const required of ['package.json', 'README.md', 'dist/tun/index.js', 'dist/tun/index.d.ts', 'dist/tun/native.js', 'dist/tun/node/socket.js', 'tun/binding.gyp', 'tun/src/tun.c', 'tun/build-addon.mjs']) {
    t.true(paths.includes(required), `${required} is in the tarball`);
  }
  const unexpected = paths.filter((p) => !/^dist\/.+\.(js|d\.ts)$/.test(p) && !['package.json', 'README.md', 'tun/binding.gyp', 'tun/src/tun.c', 'tun/build-addon.mjs'].includes(p));
  t.deepEqual(unexpected, [], 'nothing else: no .ts sources, tests, CLI or build output');
  t.false(paths.some((p) => p.startsWith('dist/cli/') || p.startsWith('dist/test/')), 'the CLI and the tests stay out');
  t.true(existsSync(join(scratch, 'node_modules', 'tcpstack', 'dist', 'tun', 'build', 'Release', 'tun.node')), 'the install script built the addon beside dist/tun/native.js');
});

packTest('a TypeScript program type-checks against the installed package', (t) => {
  installed();
  const dir = join(scratch, 'typed');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'main.ts'),
    [
      "import http from 'node:http';",
      "import { openTunStack, TcpServer, TcpSocket, TcpAgent, Stack, VirtualClock, SeededRandom, memoryLinkPair, parseIpv4, SocketError, type Endpoint, type TunStack, type TunStackOptions } from 'tcpstack';",
      "const options: TunStackOptions = { netns: 'lab', address: '198.18.0.2', peer: '198.18.0.1/24', mtu: 1500 };",
      'const host: TunStack = openTunStack(options);',
      'const server = http.createServer((_req, res) => res.end());',
      "new TcpServer(host.tcp, (socket: TcpSocket) => server.emit('connection', socket)).listen(80);",
      "http.get({ host: '198.18.0.1', port: 80, agent: new TcpAgent(host.tcp) });",
      'const [wire] = memoryLinkPair();',
      "const stack = new Stack({ address: parseIpv4('10.0.0.1')!, clock: new VirtualClock(), random: new SeededRandom(1), link: wire });",
      'const endpoint: Endpoint = stack.tcp.socket();',
      "const failed: boolean = new SocketError('ECONNRESET', 'read') instanceof Error;",
      'export { endpoint, failed };',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['main.ts'],
    }),
  );
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: STEP_MS });
  t.is(r.status, 0, `tsc against the installed package:\n${r.stdout}${r.stderr}`);
});

/** Ends the process by its PID: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
async function stop(child: ChildProcess, exited: Promise<unknown>, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

exampleTest("the README's library example serves HTTP from the installed package to curl in a namespace", async (t) => {
  installed();
  const example = readmeExample();
  const url = /http:\/\/(\d+\.\d+\.\d+\.\d+):(\d+)\//.exec(example);
  if (!url) return t.fail('the README example names no http://A.B.C.D:PORT/ to fetch');
  const program = join(scratch, 'example.mjs');
  writeFileSync(program, example);

  const ns = uniqueNetns('pack');
  t.teardown(() => removeNetns(ns));
  createNetns(ns);
  // The example runs inside the namespace: its TUN device and the kernel side's address are there, not on the host.
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, program], { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => stop(child, exited));

  const target = `http://${url[1]}:${url[2]}/from-the-pack-test`;
  const deadline = Date.now() + 20_000;
  let fetched = await execInNetns(ns, ['curl', '-sS', '--max-time', '3', target], { timeoutMs: 5_000 });
  while (fetched.status !== 0 && Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    fetched = await execInNetns(ns, ['curl', '-sS', '--max-time', '3', target], { timeoutMs: 5_000 });
  }
  t.is(fetched.status, 0, `curl ${target} from ${ns}: ${fetched.stderr.trim()}; the example said: ${output.trim()}`);
  t.is(fetched.stdout, 'hello from tcpstack: GET /from-the-pack-test\n');

  // SIGTERM: the example closes the stack (host.close()) and Node exits by itself.
  child.kill('SIGTERM');
  const outcome = await Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 5_000))]);
  t.deepEqual(outcome, { code: 0, signal: null }, `the example exits after SIGTERM; it said: ${output.trim()}`);
});
