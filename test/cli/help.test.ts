/**
 * The help of the command and of each subcommand: `--version`, `help
 * COMMAND`, every option of a subcommand's --help documented in its section
 * of docs/cli.md and every option there in the --help, and hints naming the
 * command as it was called.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokedAs } from '../../cli/program.ts';
import { CLI, ROOT, runCli } from '../helpers/interop.ts';

const COMMANDS = ['up', 'connect', 'scenario', 'pkt', 'ss', 'nstat', 'timeline'];
const DOC = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');

test('--version and -V print the version of package.json', (t) => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = runCli([flag]);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, `tcpstack ${version}\n`);
  }
});

test('tcpstack help COMMAND prints what COMMAND --help prints, for every command', (t) => {
  for (const command of COMMANDS) {
    const viaHelp = runCli(['help', command]);
    t.is(viaHelp.code, 0, command);
    t.regex(viaHelp.stdout, new RegExp(`^usage: tcpstack ${command}`), command);
    t.is(viaHelp.stdout, runCli([command, '--help']).stdout, command);
  }
  t.is(runCli(['help']).stdout, runCli(['--help']).stdout);
});

/** The section of docs/cli.md for `tcpstack NAME`, up to the next section of its level. */
function docSection(name: string): string {
  const start = DOC.indexOf(`## \`tcpstack ${name}\``);
  const next = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, next < 0 ? undefined : next);
}

/** The long options a text names, except --help (every command has it) and those it names as up's (`up --trace`). */
function longOptions(text: string): string[] {
  const found = text.replace(/\bup --[a-z-]+/g, '').match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? [];
  return [...new Set(found)].filter((o) => o !== '--help').sort();
}

test('every option of a command\'s --help is in its section of docs/cli.md, and every option there in its --help', (t) => {
  for (const command of COMMANDS) {
    const help = runCli([command, '--help']).stdout;
    t.deepEqual(longOptions(docSection(command)), longOptions(help), command);
  }
});

test('up --help and docs/cli.md both say SIGHUP stops up and where the control socket lives', (t) => {
  const help = runCli(['up', '--help']).stdout;
  t.regex(help, /until SIGINT, SIGTERM or SIGHUP/);
  t.regex(help, /\$TCPSTACK_RUN_DIR/);
  t.regex(docSection('up'), /until SIGINT, SIGTERM or SIGHUP/);
  t.regex(DOC, /\| `TCPSTACK_RUN_DIR` \|/);
  t.regex(runCli(['nstat', '--help']).stdout, /--json +the rows as JSON/);
  t.regex(docSection('nstat'), /\| `--json` \| the rows as JSON/);
});

test('hints name the command as it was called: the bare name when $PATH finds it, else the path given', (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'tcpstack-bin-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  symlinkSync(CLI, join(bin, 'tcpstack'));
  const onPath = spawnSync('tcpstack', ['pkt'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } });
  t.is(onPath.stderr, 'tcpstack: error: pkt needs at least one FILE.pkt (try: tcpstack pkt --help)\n');
  const byPath = spawnSync('cli/tcpstack', ['pkt'], { encoding: 'utf8', timeout: 20_000, cwd: ROOT });
  t.is(byPath.stderr, 'tcpstack: error: pkt needs at least one FILE.pkt (try: cli/tcpstack pkt --help)\n');
  t.is(invokedAs({ TCPSTACK_ARGV0: '/opt/x/bin/tcpstack', PATH: '/nonexistent' }), '/opt/x/bin/tcpstack');
  t.is(invokedAs({}), 'tcpstack', 'without the launcher');
});
