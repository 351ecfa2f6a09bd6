/**
 * Back-quoted shell lines of packet scripts. The runner has no shell and no
 * kernel to configure: it recognises the ways scripts set TCP sysctls and
 * applies them to the stack's settings, with the shell's arithmetic
 * expansion `$((...))` in their values:
 *
 *   sysctl [-q] [-w] [-e] net.ipv4.tcp_x=V [name=V ...]
 *   echo V > /proc/sys/net/ipv4/tcp_x
 *   .../set_sysctls.py /proc/sys/net/ipv4/tcp_x=V [...]
 *   .../defaults.sh       (packetdrill's gtests/net/common/defaults.sh)
 *
 * `nstat` and the `nstat | grep NAME | grep -q " N "` checks of the
 * kernel's suites are evaluated against the stack's counters (an `nstat`
 * action: the command's exit status decides, as packetdrill's system()
 * does), and `grep PATTERN /proc/net/tcp /proc/net/tcp6 | grep ...`
 * against the stack's sockets as Linux lists them (proc-net-tcp.ts).
 * `ip tcp_metrics flush [all]` empties the stack's per-destination metrics
 * (Fast Open's cookie cache); `ip route {add,change,replace} PREFIX ...
 * advmss N mtu [lock] N initcwnd N initrwnd N rto_min T` sets a route's metrics
 * (ip-route.ts). Commands that are true of our stack as it
 * is (`tc qdisc ... pfifo`: it has no queueing
 * discipline, packets leave as sent; the `/tmp/sysctl_restore_*.sh` a
 * script runs at its end: every script starts from a fresh stack) are
 * no-ops. Any other check, a command whose exit status tests something
 * (`grep`, `test`, `[`), and settings the script's outcome rests on that
 * the stack does not model (a queue that drops what the stack sends, `tc
 * qdisc ... pfifo limit 0`; route attributes other than those,
 * `window`, `quickack`, ...; congestion control module parameters in
 * /sys/module) are not supported: the script fails rather
 * than pass on a check never made or a setting never applied.
 * Everything else is reported as a warning and skipped.
 */

import { ddZeros } from './files.ts';
import { parseIpRoute, type RouteCommand } from './ip-route.ts';

/** One `grep` of an nstat pipeline. */
export interface GrepStage {
  pattern: RegExp;
  /** -v */
  invert: boolean;
}

export type ShellAction =
  | { kind: 'sysctl'; name: string; value: string; text: string }
  | { kind: 'defaults'; text: string; path: string }
  /** `ip tcp_metrics flush [all]`: the stack's per-destination metrics (Fast Open's cookie cache) emptied. */
  | { kind: 'tcp-metrics-flush'; text: string }
  /**
   * `tc qdisc add dev tun0 root pfifo limit 0` (a queue that drops every
   * packet the stack sends) or `tc qdisc del dev tun0 root` (none again):
   * Stack.setDeviceQueueDropsAll.
   */
  | { kind: 'qdisc'; text: string; dropsAll: boolean }
  /** `ip route {add,change,replace} ...`: a route and its metrics (ip-route.ts). */
  | { kind: 'route'; text: string; route: RouteCommand }
  | { kind: 'nstat'; text: string; reset: boolean; update: boolean; absolute: boolean; zeros: boolean; greps: GrepStage[] }
  /** `grep PATTERN /proc/net/tcp [/proc/net/tcp6] | grep ...`: the first stage's files, then every stage's pattern. */
  | { kind: 'proc-grep'; text: string; files: Array<'/proc/net/tcp' | '/proc/net/tcp6'>; greps: GrepStage[] }
  | { kind: 'noop'; text: string; why: string }
  /** `rm -f PATH` and `dd ... if=/dev/zero of=PATH`: a file of the run's own (files.ts), never on disk. */
  | { kind: 'file'; text: string; path: string; data: Uint8Array | undefined }
  | { kind: 'unsupported'; text: string; why: string }
  | { kind: 'ignored'; text: string; why: string };

/**
 * The sysctls packetdrill's defaults.sh sets (google/packetdrill
 * gtests/net/common/defaults.sh), by Linux name. Names the stack does not
 * model are listed too, so that running defaults.sh does not warn about them.
 */
export const DEFAULTS_SH: ReadonlyArray<readonly [string, string]> = [
  ['net.ipv4.tcp_rmem', `4096 540000 ${15 * 1024 * 1024}`],
  ['net.ipv4.tcp_wmem', `4096 ${256 * 1024} 4194304`],
  ['net.ipv4.tcp_timestamps', '1'],
  ['net.ipv4.tcp_syn_retries', '5'],
  ['net.ipv4.tcp_synack_retries', '5'],
  ['net.ipv4.tcp_frto', '2'],
  ['net.ipv4.tcp_sack', '1'],
  ['net.ipv4.tcp_dsack', '1'],
  ['net.ipv4.tcp_fack', '0'],
  ['net.ipv4.tcp_reordering', '3'],
  ['net.ipv4.tcp_congestion_control', 'cubic'],
  ['net.ipv4.tcp_slow_start_after_idle', '0'],
  ['net.ipv4.tcp_early_retrans', '4'],
  ['net.ipv4.tcp_recovery', '1'],
  ['net.ipv4.tcp_tso_win_divisor', '3'],
  ['net.ipv4.tcp_ecn', '0'],
  ['net.ipv4.tcp_ecn_option', '2'],
  ['net.ipv4.tcp_pacing_ss_ratio', '200'],
  ['net.ipv4.tcp_pacing_ca_ratio', '120'],
  ['net.ipv4.tcp_notsent_lowat', '4294967295'],
  ['net.ipv4.tcp_fastopen', '0x70403'],
  ['net.ipv4.tcp_fastopen_key', 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4'],
  ['net.ipv4.tcp_syncookies', '1'],
];

/**
 * The shell's arithmetic expansion (POSIX 2.6.4) of the integer
 * expressions scripts use: decimal, octal and hexadecimal constants, unary
 * + - ~ !, * / %, + -, << >>, comparisons, & ^ |, && ||, parentheses. An
 * unset variable is 0. Throws on anything else or a division by zero.
 */
export function arithmetic(expr: string): bigint {
  const toks = expr.match(/0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|<<|>>|<=|>=|==|!=|&&|\|\||\S/g) ?? [];
  let i = 0;
  const binary: Array<Array<[string, (a: bigint, b: bigint) => bigint]>> = [
    [['||', (a, b) => (a !== 0n || b !== 0n ? 1n : 0n)]],
    [['&&', (a, b) => (a !== 0n && b !== 0n ? 1n : 0n)]],
    [['|', (a, b) => a | b]],
    [['^', (a, b) => a ^ b]],
    [['&', (a, b) => a & b]],
    [['==', (a, b) => (a === b ? 1n : 0n)], ['!=', (a, b) => (a !== b ? 1n : 0n)]],
    [['<', (a, b) => (a < b ? 1n : 0n)], ['<=', (a, b) => (a <= b ? 1n : 0n)], ['>', (a, b) => (a > b ? 1n : 0n)], ['>=', (a, b) => (a >= b ? 1n : 0n)]],
    [['<<', (a, b) => BigInt.asIntN(64, a << b)], ['>>', (a, b) => a >> b]],
    [['+', (a, b) => BigInt.asIntN(64, a + b)], ['-', (a, b) => BigInt.asIntN(64, a - b)]],
    [
      ['*', (a, b) => BigInt.asIntN(64, a * b)],
      ['/', (a, b) => (b === 0n ? fail('division by 0') : a / b)],
      ['%', (a, b) => (b === 0n ? fail('division by 0') : a % b)],
    ],
  ];
  function fail(why: string): never {
    throw new Error(`$((${expr})): ${why}`);
  }
  function unary(): bigint {
    const t = toks[i++];
    if (t === undefined) fail('the expression ends too early');
    if (t === '(') {
      const v = level(0);
      if (toks[i++] !== ')') fail("')' expected");
      return v;
    }
    if (t === '-') return BigInt.asIntN(64, -unary());
    if (t === '+') return unary();
    if (t === '~') return ~unary();
    if (t === '!') return unary() === 0n ? 1n : 0n;
    if (/^0[xX]/.test(t)) return BigInt(t);
    if (/^0[0-7]+$/.test(t)) return BigInt(`0o${t.slice(1)}`);
    if (/^\d+$/.test(t)) return BigInt(t);
    if (/^[A-Za-z_]/.test(t)) return 0n;
    return fail(`unexpected ${JSON.stringify(t)}`);
  }
  function level(n: number): bigint {
    if (n === binary.length) return unary();
    let v = level(n + 1);
    for (;;) {
      const op = binary[n]!.find(([o]) => o === toks[i]);
      if (!op) return v;
      i++;
      v = op[1](v, level(n + 1));
    }
  }
  const v = level(0);
  if (i !== toks.length) fail(`unexpected ${JSON.stringify(toks[i])}`);
  return v;
}

/** The end (index after the closing `))`) of the `$((` at `start`, or -1. */
function arithmeticEnd(cmd: string, start: number): number {
  let depth = 0;
  for (let i = start + 3; i < cmd.length; i++) {
    if (cmd[i] === '(') depth++;
    else if (cmd[i] === ')') {
      if (depth === 0) return cmd[i + 1] === ')' ? i + 2 : -1;
      depth--;
    }
  }
  return -1;
}

/** Shell words of one simple command: quotes removed, `$((...))` expanded (in double quotes too), nothing else expanded. */
export function words(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  /** Expands the `$((` at i; returns the index of its last character. */
  const expand = (i: number): number => {
    const end = arithmeticEnd(cmd, i);
    if (end < 0) throw new Error(`unterminated $(( in ${JSON.stringify(cmd)}`);
    cur += String(arithmetic(cmd.slice(i + 3, end - 2)));
    return end - 1;
  };
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (c === "'") {
      const end = cmd.indexOf(c, i + 1);
      cur += cmd.slice(i + 1, end < 0 ? cmd.length : end);
      i = end < 0 ? cmd.length : end;
      inWord = true;
    } else if (c === '"') {
      inWord = true;
      for (i++; i < cmd.length && cmd[i] !== '"'; i++) {
        if (cmd.startsWith('$((', i)) i = expand(i);
        else if (cmd[i] === '\\' && i + 1 < cmd.length && '$`"\\'.includes(cmd[i + 1]!)) cur += cmd[++i];
        else cur += cmd[i];
      }
    } else if (c === '$' && cmd.startsWith('$((', i)) {
      i = expand(i);
      inWord = true;
    } else if (c === '#' && !inWord) {
      break; // a comment, to the end of the line
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** Splits a simple command into the stages of its pipeline at `|` outside quotes (`||` is a list, split before). */
function pipelineStages(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (const c of cmd) {
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '|') {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** Splits a command line into simple commands at newlines, `;`, `&&` and `||` outside quotes. */
function simpleCommands(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < joined.length; i++) {
    const c = joined[i]!;
    if (quote) {
      if (c === quote) quote = '';
      cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if (c === '#' && (i === 0 || /\s/.test(joined[i - 1]!))) {
      // A comment, to the end of the line (quotes in it are no quotes).
      const nl = joined.indexOf('\n', i);
      i = (nl < 0 ? joined.length : nl) - 1;
    } else if (c === '\n' || c === ';' || ((c === '&' || c === '|') && joined[i + 1] === c)) {
      if (c !== '\n' && c !== ';') i++;
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith('#'));
}

/** Drops output redirections to /dev/null and stderr merges (`> /dev/null 2>&1`, `&> /dev/null`). */
function dropNullRedirections(w: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!;
    if (/^\d?>&\d$/.test(x) || /^(?:\d|&)?>\/dev\/null$/.test(x)) continue;
    if (x === '&>' && w[i + 1] === '/dev/null') {
      i++;
      continue;
    }
    if (/^\d?>>?$/.test(x) && w[i + 1] === '/dev/null') {
      i++;
      continue;
    }
    out.push(x);
  }
  return out;
}

/**
 * A `tc qdisc` command with a pfifo, a limit or a deletion, on the root of
 * packetdrill's device: pfifo limit 0 (every enqueue fails: NET_XMIT_DROP)
 * drops all the stack sends; a deletion removes it; a plain pfifo passes
 * everything, as the stack's output does without a queue. Another limit
 * would drop some packets and not others, and another device or parent is
 * none the stack has: not supported.
 */
function qdiscCommand(w: readonly string[], text: string): ShellAction {
  const [, , verb, devWord, dev, root, ...rest] = w;
  if (devWord !== 'dev' || dev !== 'tun0' || root !== 'root') return { kind: 'unsupported', text, why: 'a queueing discipline other than the root one of tun0' };
  if ((verb === 'del' || verb === 'delete') && rest.length === 0) return { kind: 'qdisc', text, dropsAll: false };
  if ((verb === 'add' || verb === 'replace') && rest.length === 1 && rest[0] === 'pfifo') {
    return { kind: 'noop', text, why: 'the stack has no queueing discipline: packets leave as sent, as through pfifo' };
  }
  if ((verb === 'add' || verb === 'replace') && rest.length === 3 && rest[0] === 'pfifo' && rest[1] === 'limit' && rest[2] === '0') return { kind: 'qdisc', text, dropsAll: true };
  return { kind: 'unsupported', text, why: 'a queueing discipline that drops some of what the stack sends (only pfifo limit 0, which drops all, is modelled)' };
}

const PROC = /^\/proc\/sys\/(.+)$/;

function procName(path: string): string | undefined {
  const m = PROC.exec(path);
  return m ? m[1]!.replace(/\//g, '.') : undefined;
}

/** grep's basic regular expression as a JavaScript one: in a BRE + ? ( ) { } | are literal characters. */
function basicRegExp(pattern: string, ignoreCase: boolean): RegExp {
  return new RegExp(pattern.replace(/[+?(){}|]/g, (c) => `\\${c}`), ignoreCase ? 'i' : '');
}

/**
 * An `nstat [-n] [-s] [-a] [-z] | grep [-q] [-v] [-i] PATTERN | ...`
 * pipeline (iproute2's nstat over the stack's counters), or a reason it is
 * none the runner can evaluate.
 */
function nstatPipeline(stages: readonly string[], text: string): ShellAction {
  const first = dropNullRedirections(words(stages[0]!));
  let reset = false;
  let update = true;
  let absolute = false;
  let zeros = false;
  for (const f of first.slice(1)) {
    if (!/^-[nsaz]+$/.test(f)) return { kind: 'unsupported', text, why: `nstat ${f}` };
    if (f.includes('n')) reset = true;
    if (f.includes('s')) update = false;
    if (f.includes('a')) absolute = true;
    if (f.includes('z')) zeros = true;
  }
  const greps: GrepStage[] = [];
  for (const stage of stages.slice(1)) {
    const w = dropNullRedirections(words(stage));
    if (w[0] !== 'grep') return { kind: 'unsupported', text, why: `${w[0] ?? ''} in a pipeline (nstat | grep only)` };
    const flags = w.slice(1).filter((x) => /^-[qvi]+$/.test(x));
    const rest = w.slice(1).filter((x) => !/^-[qvi]+$/.test(x));
    if (rest.length !== 1) return { kind: 'unsupported', text, why: 'grep with other than one pattern and -q, -v, -i' };
    greps.push({ pattern: basicRegExp(rest[0]!, flags.some((x) => x.includes('i'))), invert: flags.some((x) => x.includes('v')) });
  }
  return { kind: 'nstat', text, reset, update, absolute, zeros, greps };
}

/** What one back-quoted command line does, as far as the runner is concerned. */
export function interpretCommand(text: string): ShellAction[] {
  const actions: ShellAction[] = [];
  for (const cmd of simpleCommands(text)) {
    const stages = pipelineStages(cmd);
    const firstWords = words(stages[0]!);
    const firstBase = (firstWords[0] ?? '').split('/').pop()!;
    if (firstBase === 'nstat') {
      actions.push(nstatPipeline(stages, cmd));
      continue;
    }
    if (firstBase === 'grep') {
      const proc = procGrepPipeline(stages, cmd);
      if (proc !== undefined) {
        actions.push(proc);
        continue;
      }
    }
    if (stages.length > 1 || ['grep', 'test', '['].includes(firstBase)) {
      actions.push({ kind: 'unsupported', text: cmd, why: 'a check of the kernel\'s state by its exit status' });
      continue;
    }
    const w = dropNullRedirections(firstWords);
    const prog = w[0] ?? '';
    const base = prog.split('/').pop()!;
    if (base === 'defaults.sh') {
      actions.push({ kind: 'defaults', text: cmd, path: prog });
    } else if (/^sysctl_restore_.*\.sh$/.test(base)) {
      actions.push({ kind: 'noop', text: cmd, why: 'set_sysctls.py\'s restore script: every script starts from a fresh stack' });
    } else if (base === 'rm' && w.length === 3 && w[1] === '-f') {
      actions.push({ kind: 'file', text: cmd, path: w[2]!, data: undefined });
    } else if (base === 'dd') {
      const made = ddZeros(w.slice(1));
      actions.push(typeof made === 'string' ? { kind: 'unsupported', text: cmd, why: made } : { kind: 'file', text: cmd, path: made.path, data: made.data });
    } else if (base === 'true' || base === ':') {
      actions.push({ kind: 'noop', text: cmd, why: 'it does nothing' });
    } else if (base === 'ip' && w.some((x) => x === 'route')) {
      const route = parseIpRoute(w.slice(1));
      if (!('unsupported' in route)) actions.push({ kind: 'route', text: cmd, route });
      // A route's other metrics decide the MSS, the path MTU, the initial window, the RTO: the script's outcome rests on them.
      else if (w.some((x) => ['advmss', 'mtu', 'initcwnd', 'initrwnd', 'rto_min', 'features', 'window', 'rtt', 'rttvar', 'ssthresh', 'cwnd', 'quickack', 'congctl', 'fastopen_no_cookie', 'hoplimit', 'reordering'].includes(x)))
        actions.push({ kind: 'unsupported', text: cmd, why: route.unsupported });
      else actions.push({ kind: 'ignored', text: cmd, why: route.unsupported });
    } else if (base === 'echo' && /\/sys\/module\/tcp_\w+\/parameters\//.test(w.find((x) => x.startsWith('/sys/')) ?? '')) {
      actions.push({ kind: 'unsupported', text: cmd, why: 'congestion control module parameters are not modelled' });
    } else if (base === 'ip' && w[1] === 'tcp_metrics' && w[2] === 'flush' && (w.length === 3 || (w.length === 4 && w[3] === 'all'))) {
      actions.push({ kind: 'tcp-metrics-flush', text: cmd });
    } else if (base === 'tc' && w[1] === 'qdisc' && (w.includes('limit') || w[w.length - 1] === 'pfifo' || w[2] === 'del' || w[2] === 'delete')) {
      actions.push(qdiscCommand(w, cmd));
    } else if (base === 'sysctl') {
      const sets = w.slice(1).filter((a) => !a.startsWith('-'));
      const flags = w.slice(1).filter((a) => a.startsWith('-'));
      if (sets.length === 0 || flags.some((f) => !/^-[qwe]+$/.test(f))) {
        actions.push({ kind: 'ignored', text: cmd, why: 'not a sysctl assignment' });
        continue;
      }
      for (const a of sets) {
        const eq = a.indexOf('=');
        // sysctl(8) takes / as well as . between the parts of a name.
        if (eq < 0) actions.push({ kind: 'ignored', text: cmd, why: `reads ${a} (only assignments are applied)` });
        else actions.push({ kind: 'sysctl', name: a.slice(0, eq).replace(/\//g, '.'), value: a.slice(eq + 1), text: cmd });
      }
    } else if (base === 'set_sysctls.py') {
      for (const a of w.slice(1)) {
        const eq = a.indexOf('=');
        const name = eq < 0 ? undefined : procName(a.slice(0, eq));
        if (name === undefined) actions.push({ kind: 'ignored', text: cmd, why: `${a} is not /proc/sys/NAME=VALUE` });
        else actions.push({ kind: 'sysctl', name, value: a.slice(eq + 1), text: cmd });
      }
    } else if (base === 'echo') {
      const gt = w.findIndex((x) => x === '>' || x.startsWith('>'));
      const target = gt < 0 ? undefined : w[gt] === '>' ? w[gt + 1] : w[gt]!.slice(1);
      const name = target === undefined ? undefined : procName(target);
      if (name === undefined) {
        actions.push({ kind: 'ignored', text: cmd, why: target === undefined ? 'not a write to /proc/sys' : `writes ${target}, which the stack does not model` });
      } else {
        const args = w.slice(1, gt).filter((a, i) => !(i === 0 && /^-[neE]+$/.test(a)));
        actions.push({ kind: 'sysctl', name, value: args.join(' '), text: cmd });
      }
    } else {
      actions.push({ kind: 'ignored', text: cmd, why: 'not a sysctl setting' });
    }
  }
  return actions;
}

/**
 * What `nstat` prints (iproute2's nstat.c dump_kern_db): `#kernel`, then
 * one line per counter, `%-32s%-16llu%6.1f` (name, value, rate; the rate is
 * 0.0 without its daemon). `rows` are the deltas since the history (or,
 * with -a, the absolute values); without -z the zero ones are left out.
 */
export function nstatOutput(rows: ReadonlyArray<readonly [string, number]>, zeros: boolean): string[] {
  const lines = ['#kernel'];
  for (const [name, value] of rows) {
    if (value === 0 && !zeros) continue;
    lines.push(`${name.padEnd(32)}${String(value).padEnd(16)}${'0.0'.padStart(6)}`);
  }
  return lines;
}

/** One grep stage's flags and pattern, or undefined for another shape. */
function grepStage(w: readonly string[]): { stage: GrepStage; files: string[] } | undefined {
  if (w[0] !== 'grep') return undefined;
  const flags = w.slice(1).filter((x) => /^-[qvi]+$/.test(x));
  const rest = w.slice(1).filter((x) => !/^-[qvi]+$/.test(x));
  if (rest.length < 1) return undefined;
  return { stage: { pattern: basicRegExp(rest[0]!, flags.some((x) => x.includes('i'))), invert: flags.some((x) => x.includes('v')) }, files: rest.slice(1) };
}

/**
 * `grep [-q] [-v] [-i] PATTERN /proc/net/tcp [/proc/net/tcp6] | grep ...`:
 * a look at the kernel's socket tables (proc-net-tcp.ts prints ours), or
 * undefined when the command is another grep.
 */
function procGrepPipeline(stages: readonly string[], text: string): ShellAction | undefined {
  const first = grepStage(dropNullRedirections(words(stages[0]!)));
  if (first === undefined || first.files.length === 0) return undefined;
  if (!first.files.every((f) => f === '/proc/net/tcp' || f === '/proc/net/tcp6')) return undefined;
  const greps = [first.stage];
  for (const stage of stages.slice(1)) {
    const g = grepStage(dropNullRedirections(words(stage)));
    if (g === undefined || g.files.length > 0) return { kind: 'unsupported', text, why: 'a pipeline of other than grep PATTERN' };
    greps.push(g.stage);
  }
  return { kind: 'proc-grep', text, files: first.files as Array<'/proc/net/tcp' | '/proc/net/tcp6'>, greps };
}

/** The exit status of `nstat ... | grep ...` given nstat's lines: grep's, 0 when a line is selected, 1 when none. */
export function grepStatus(lines: readonly string[], greps: readonly GrepStage[]): number {
  let cur = lines;
  let status = 0;
  for (const g of greps) {
    cur = cur.filter((l) => g.pattern.test(l) !== g.invert);
    status = cur.length > 0 ? 0 : 1;
  }
  return status;
}
