/**
 * The subject's counters at the end of a scenario, by Linux's nstat names
 * (`TcpExtTCPLossProbes`, `TcpRetransSegs`): the kernel's read from
 * /proc/net/snmp and /proc/net/netstat in the subject's namespace (fresh for
 * each run, so every counter starts at zero), our stack's from its
 * `counters`. The names a scenario lists are compared exactly.
 */

/**
 * /proc/net/snmp and /proc/net/netstat as nstat reads them: lines in pairs,
 * a header `Prefix: Name1 Name2 ...` then `Prefix: v1 v2 ...`; each counter
 * is Prefix + Name (`TcpExt` + `TCPLossProbes`). Several files may be
 * concatenated.
 */
export function parseProcNet(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = lines[i]!.split(/\s+/);
    const vals = lines[i + 1]!.split(/\s+/);
    const prefix = head[0]!.replace(/:$/, '');
    if (vals[0] !== head[0]) throw new Error(`counters: line ${i + 2} (${vals[0]}) does not follow its header (${head[0]})`);
    for (let j = 1; j < head.length && j < vals.length; j++) out[`${prefix}${head[j]}`] = Number(vals[j]);
  }
  return out;
}

export interface CounterRow {
  name: string;
  kernel: number | undefined;
  stack: number | undefined;
  ok: boolean;
  why?: string;
}

/**
 * One row per listed counter. A counter the stack does not keep agrees only
 * where the kernel's is 0 (nothing happened that it would count); one the
 * kernel does not have is a scenario error, shown as a difference.
 */
export function compareCounters(names: readonly string[], kernel: Record<string, number> | undefined, stack: Record<string, number> | undefined): CounterRow[] {
  return names.map((name): CounterRow => {
    const k = kernel?.[name];
    const s = stack?.[name];
    if (k === undefined) return { name, kernel: k, stack: s, ok: false, why: kernel ? 'the kernel has no such counter' : 'the kernel run read no counters' };
    if (s === undefined) {
      if (!stack) return { name, kernel: k, stack: s, ok: false, why: 'the stack run read no counters' };
      return k === 0 ? { name, kernel: k, stack: s, ok: true } : { name, kernel: k, stack: s, ok: false, why: `kernel ${k}, the stack does not keep this counter` };
    }
    return k === s ? { name, kernel: k, stack: s, ok: true } : { name, kernel: k, stack: s, ok: false, why: `kernel ${k}, stack ${s}` };
  });
}
