/**
 * `%{ ... }%` blocks: Python run with python3, as packetdrill's code.c runs
 * them. At each block's time the runner takes getsockopt(TCP_INFO) of the
 * socket under test (run_code_event); at the end of the script, after the
 * cleanup command, one Python file is written: packetdrill's preamble (an
 * excepthook that names the script's file and the block's line), then for
 * each block the symbolic names (TCP_ESTABLISHED..., TCP_CA_Open...,
 * TCPI_OPT_...), the `tcpi_*` values taken at its time, and its code; the
 * file is run with python3 and a non-zero exit fails the script
 * (code_execute). TCP_CC_INFO gives nothing for Reno and CUBIC in Linux
 * either (no get_info), so no `bbr_*`, `dctcp_*` or `tcpv_*` names exist.
 *
 * A block naming a value the stack does not keep (tcp-info-struct.ts
 * `notModelled`, the SO_MEMINFO counters `SK_MEMINFO_*`, another congestion
 * control's `bbr_*`...) fails at its line as not supported, rather than
 * check something against a made-up 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TCP_CA_STATE_NUMBERS, TCP_INFO_FIELDS, TCP_STATE_NUMBERS, TCPI_OPT, type TcpInfoField, type TcpInfoStruct } from '../../stack/tcp/tcp-info-struct.ts';

/** code.c's python_preamble. */
const PREAMBLE = `import sys
import traceback
def excepthook(etype, value, tb):
  sys.stderr.write("%s:%d: error in Python code\\n" %
                   (_file, _line))
  traceback.print_exception(etype, value, tb)

sys.excepthook = excepthook

`;

/** write_symbols: the names of tcpi_state's, tcpi_ca_state's and tcpi_options' values. */
function symbols(): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const states: Array<[string, keyof typeof TCP_STATE_NUMBERS]> = [
    ['TCP_ESTABLISHED', 'ESTABLISHED'],
    ['TCP_SYN_SENT', 'SYN_SENT'],
    ['TCP_SYN_RECV', 'SYN_RECV'],
    ['TCP_FIN_WAIT1', 'FIN_WAIT1'],
    ['TCP_FIN_WAIT2', 'FIN_WAIT2'],
    ['TCP_TIME_WAIT', 'TIME_WAIT'],
    ['TCP_CLOSE', 'CLOSED'],
    ['TCP_CLOSE_WAIT', 'CLOSE_WAIT'],
    ['TCP_LAST_ACK', 'LAST_ACK'],
    ['TCP_LISTEN', 'LISTEN'],
    ['TCP_CLOSING', 'CLOSING'],
  ];
  for (const [name, s] of states) out.push([name, TCP_STATE_NUMBERS[s]]);
  const ca: Array<[string, keyof typeof TCP_CA_STATE_NUMBERS]> = [
    ['TCP_CA_Open', 'open'],
    ['TCP_CA_Disorder', 'disorder'],
    ['TCP_CA_CWR', 'cwr'],
    ['TCP_CA_Recovery', 'recovery'],
    ['TCP_CA_Loss', 'loss'],
  ];
  for (const [name, s] of ca) out.push([name, TCP_CA_STATE_NUMBERS[s]]);
  for (const [name, bit] of Object.entries(TCPI_OPT)) out.push([`TCPI_OPT_${name}`, bit]);
  return out;
}

/** The names packetdrill's write_tcp_info gives a block (tcpi_fastopen_client_fail is in the struct, not among them). */
const EMITTED_FIELDS = TCP_INFO_FIELDS.filter((f) => f !== 'tcpi_fastopen_client_fail');

/** Names packetdrill defines from getsockopt(SO_MEMINFO) and TCP_CC_INFO, which the runner cannot fill. */
const OTHER_NAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bSK_MEMINFO_(?!RCVBUF\b|SNDBUF\b)[A-Z_]+\b/g, 'of getsockopt(SO_MEMINFO) only the buffer sizes SK_MEMINFO_RCVBUF and SK_MEMINFO_SNDBUF are modelled'],
  [/\b(?:bbr|dctcp)_[a-z_]+\b|\btcpv_[a-z_]+\b|\btcp_(?:min)?rtt\b/g, 'the stack has no BBR, DCTCP or Vegas (TCP_CC_INFO)'],
];

export interface CodeFragment {
  line: number;
  text: string;
  info: TcpInfoStruct;
  /** write_so_meminfo's values the stack keeps: the buffer sizes (sk_rcvbuf, sk_sndbuf). */
  meminfo?: { SK_MEMINFO_RCVBUF: number; SK_MEMINFO_SNDBUF: number };
}

/**
 * The first name a block uses that the stack cannot give it, with why;
 * undefined when it can give them all. Names are matched as Python
 * identifiers anywhere in the code (in strings too: a block rarely writes one).
 */
export function unsupportedName(fragment: CodeFragment): { name: string; why: string } | undefined {
  for (const m of fragment.text.matchAll(/\btcpi_[a-z0-9_]+\b/g)) {
    const why = fragment.info.notModelled.get(m[0] as TcpInfoField);
    if (why !== undefined) return { name: m[0], why };
  }
  for (const [re, why] of OTHER_NAMES) {
    const m = fragment.text.match(re);
    if (m) return { name: m[0], why };
  }
  return undefined;
}

/** write_code_file: the whole Python program for the script's blocks. */
export function pythonProgram(file: string, fragments: readonly CodeFragment[]): string {
  const lines: string[] = [PREAMBLE];
  const pyString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  for (const f of fragments) {
    for (const [name, value] of symbols()) lines.push(`${name} = ${value}`);
    for (const field of EMITTED_FIELDS) {
      if (f.info.notModelled.has(field)) continue;
      lines.push(`${field} = ${String(f.info.values[field])}`);
    }
    lines.push('');
    // write_tcp_cc_info: nothing for Reno and CUBIC, then the end of the assignments.
    lines.push('');
    // write_so_meminfo: the buffer sizes (the counters it has beside them are not kept).
    if (f.meminfo !== undefined) {
      lines.push(`SK_MEMINFO_RCVBUF = ${f.meminfo.SK_MEMINFO_RCVBUF}`, `SK_MEMINFO_SNDBUF = ${f.meminfo.SK_MEMINFO_SNDBUF}`, '');
    }
    lines.push(`_file = ${pyString(file)}`, `_line = ${f.line}`, f.text, '', '');
  }
  return lines.join('\n');
}

export interface CodeOutcome {
  ok: boolean;
  /** The block's line the excepthook named (the first failing one). */
  line: number | undefined;
  /** What python3 wrote to stderr, line by line. */
  stderr: string[];
  /** What it printed (packetdrill lets it through; tcpstack pkt -v shows it). */
  stdout: string[];
  /** code.c's error: "'python3' returned non-zero status N", or why it did not run. */
  error: string | undefined;
}

/** code_execute: writes the program to a temporary file, runs it with `command` (python3), removes it. */
export function runPython(program: string, command = 'python3'): CodeOutcome {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pkt-code-'));
  try {
    const path = join(dir, 'code.py');
    writeFileSync(path, program);
    const r = spawnSync(command, [path], { encoding: 'utf8', timeout: 60_000 });
    const stderr = (r.stderr ?? '').split('\n').filter((l) => l !== '');
    const stdout = (r.stdout ?? '').split('\n').filter((l) => l !== '');
    if (r.error) return { ok: false, line: undefined, stderr, stdout, error: `error running '${command}': ${r.error.message}` };
    if (r.status !== 0) {
      const named = stderr.map((l) => /:(\d+): error in Python code$/.exec(l)).find((m) => m !== null);
      return {
        ok: false,
        line: named ? Number(named[1]) : undefined,
        stderr,
        stdout,
        error: r.status === null ? `'${command}' got signal ${r.signal}` : `'${command}' returned non-zero status ${r.status}`,
      };
    }
    return { ok: true, line: undefined, stderr, stdout, error: undefined };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
