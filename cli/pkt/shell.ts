/**
 * Back-quoted shell lines of packet scripts. The runner has no shell and no
 * kernel to configure: it recognises the ways scripts set TCP sysctls and
 * applies them to the stack's settings; everything else is reported as a
 * warning and skipped.
 *
 *   sysctl [-q] [-w] net.ipv4.tcp_x=V [name=V ...]
 *   echo V > /proc/sys/net/ipv4/tcp_x
 *   .../set_sysctls.py /proc/sys/net/ipv4/tcp_x=V [...]
 *   .../defaults.sh       (packetdrill's gtests/net/common/defaults.sh)
 *   ip tcp_metrics flush [all]   (the per-destination metrics: Fast Open's cookie cache)
 */

export type ShellAction =
  | { kind: 'sysctl'; name: string; value: string; text: string }
  | { kind: 'defaults'; text: string }
  | { kind: 'tcp-metrics-flush'; text: string }
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

/** Shell words of one simple command (quotes removed; no expansion). */
function words(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (c === "'" || c === '"') {
      const end = cmd.indexOf(c, i + 1);
      cur += cmd.slice(i + 1, end < 0 ? cmd.length : end);
      i = end < 0 ? cmd.length : end;
      inWord = true;
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

/** How a simple command is joined to the one before it: `||` and `&&` make it conditional. */
type Joiner = '||' | '&&' | ';';

/**
 * Splits a command line into simple commands at newlines, `;`, `&&`, `||`
 * and `&` outside quotes, as packetdrill's system(3) shell (dash) does: it
 * knows no `&>`, so `cmd &> /dev/null` is `cmd` in the background, then an
 * empty command redirected to /dev/null, which succeeds.
 */
function simpleCommands(text: string): Array<{ cmd: string; joiner: Joiner }> {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const out: Array<{ cmd: string; joiner: Joiner }> = [];
  let joiner: Joiner = ';';
  let cur = '';
  let quote = '';
  const end = (next: Joiner): void => {
    out.push({ cmd: cur.trim(), joiner });
    joiner = next;
    cur = '';
  };
  for (let i = 0; i < joined.length; i++) {
    const c = joined[i]!;
    if (quote) {
      if (c === quote) quote = '';
      cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if ((c === '&' || c === '|') && joined[i + 1] === c) {
      i++;
      end(c === '&' ? '&&' : '||');
    } else if (c === '\n' || c === ';' || (c === '&' && joined[i - 1] !== '>')) {
      end(';');
    } else {
      cur += c;
    }
  }
  end(';');
  return out.filter((s) => s.cmd !== '' && !s.cmd.startsWith('#'));
}

/** Drops output redirections to /dev/null and stderr merges (`> /dev/null 2>&1`). */
function dropNullRedirections(w: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!;
    if (/^\d?>&\d$/.test(x) || /^(\d|&)?>\/dev\/null$/.test(x)) continue;
    if (/^(\d|&)?>>?$/.test(x) && w[i + 1] === '/dev/null') {
      i++;
      continue;
    }
    out.push(x);
  }
  return out;
}

const PROC = /^\/proc\/sys\/(.+)$/;

function procName(path: string): string | undefined {
  const m = PROC.exec(path);
  return m ? m[1]!.replace(/\//g, '.') : undefined;
}

/** What one back-quoted command line does, as far as the runner is concerned. */
export function interpretCommand(text: string): ShellAction[] {
  const actions: ShellAction[] = [];
  // The last command's exit status as far as it is known: a command that
  // is only a redirection succeeds; what the runner applies is taken to.
  let lastOk: boolean | undefined;
  for (const { cmd, joiner } of simpleCommands(text)) {
    if ((joiner === '||' && lastOk === true) || (joiner === '&&' && lastOk === false)) {
      actions.push({ kind: 'ignored', text: cmd, why: `not run: the command before \`${joiner}\` ${lastOk ? 'succeeded' : 'failed'}` });
      continue;
    }
    const w = dropNullRedirections(words(cmd));
    const before = actions.length;
    lastOk = undefined;
    if (w.length === 0) {
      lastOk = true;
      continue;
    }
    const prog = w[0] ?? '';
    const base = prog.split('/').pop()!;
    if (base === 'defaults.sh') {
      actions.push({ kind: 'defaults', text: cmd });
    } else if (base === 'sysctl') {
      const sets = w.slice(1).filter((a) => !a.startsWith('-'));
      const flags = w.slice(1).filter((a) => a.startsWith('-'));
      if (sets.length === 0 || flags.some((f) => !/^-[qwe]+$/.test(f))) {
        actions.push({ kind: 'ignored', text: cmd, why: 'not a sysctl assignment' });
        continue;
      }
      for (const a of sets) {
        const eq = a.indexOf('=');
        if (eq < 0) actions.push({ kind: 'ignored', text: cmd, why: `reads ${a} (only assignments are applied)` });
        else actions.push({ kind: 'sysctl', name: a.slice(0, eq), value: a.slice(eq + 1), text: cmd });
      }
    } else if (base === 'ip' && w[1] === 'tcp_metrics' && w[2] === 'flush' && (w.length === 3 || (w.length === 4 && w[3] === 'all'))) {
      actions.push({ kind: 'tcp-metrics-flush', text: cmd });
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
        actions.push({ kind: 'ignored', text: cmd, why: 'not a write to /proc/sys' });
      } else {
        const args = w.slice(1, gt).filter((a, i) => !(i === 0 && /^-[neE]+$/.test(a)));
        actions.push({ kind: 'sysctl', name, value: args.join(' '), text: cmd });
      }
    } else {
      actions.push({ kind: 'ignored', text: cmd, why: 'not a sysctl setting' });
    }
    const added = actions.slice(before);
    if (added.length > 0 && added.every((x) => x.kind === 'defaults' || x.kind === 'tcp-metrics-flush')) lastOk = true;
  }
  return actions;
}
