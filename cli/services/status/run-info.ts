/**
 * What the status page shows at its top: how this run was started. The
 * command line as typed, the ready line's fields (device, addresses, MTU,
 * offloads, services), the sysctls that differ from a fresh namespace's
 * defaults, and the impairments with the seed that repeats them. `up`
 * builds it (cli/up.ts) from what it parsed; the page only prints it.
 */
import { SYSCTL_DEFAULTS, sysctlNames, type Sysctls } from '../../../stack/sysctl.ts';

export interface RunInfo {
  /** The command line, quoted as a shell would need it: `tcpstack up --netns lab --loss 1%`. */
  readonly command: string;
  /** The ready line's `key=value` fields: tun=tcp0 mode=create addr=198.18.0.2 ... services=... */
  readonly fields: readonly string[];
  /** The sysctls set to something other than their default, by Linux's name, as `sysctl NAME` prints the value. */
  readonly sysctls: ReadonlyArray<readonly [name: string, value: string]>;
  /** The impairments in one line (describeImpairment, seed included), or undefined on a clean link. */
  readonly impairments?: string;
  /** The impairments' seed (--seed repeats the run's faults). */
  readonly seed?: number;
}

/** A value as `sysctl NAME` prints it: lists separated by tabs there, by spaces here. */
const sysctlText = (v: unknown): string => (Array.isArray(v) ? v.join(' ') : String(v));

/** The sysctls of `applied` that differ from SYSCTL_DEFAULTS, in sysctlNames() order. */
export function appliedSysctls(applied: Readonly<Sysctls>): Array<[string, string]> {
  // sysctlNames() lists the full names in the order of SYSCTL_DEFAULTS' keys.
  const keys = Object.keys(SYSCTL_DEFAULTS) as Array<keyof Sysctls>;
  const names = sysctlNames();
  const out: Array<[string, string]> = [];
  keys.forEach((key, i) => {
    const value = sysctlText(applied[key]);
    if (value !== sysctlText(SYSCTL_DEFAULTS[key])) out.push([names[i]!, value]);
  });
  return out;
}

/** `argv` as one shell line: words with nothing special bare, others in single quotes. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
