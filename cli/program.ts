/**
 * How the user called this command, for the hints in messages ("try:
 * tcpstack up --help"): the launcher (cli/tcpstack) passes its $0 as
 * TCPSTACK_ARGV0. Found through $PATH, the shell hands the script the full
 * path it found, but the user typed the bare name, so a $0 that is what
 * $PATH finds first becomes its bare name; any other path (cli/tcpstack,
 * ./tcpstack) is repeated as given. Without the launcher: "tcpstack".
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';

const NAME = 'tcpstack';

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export function invokedAs(env: NodeJS.ProcessEnv = process.env): string {
  const argv0 = env.TCPSTACK_ARGV0;
  if (argv0 === undefined || argv0 === '') return NAME;
  if (!argv0.includes('/')) return argv0;
  const name = basename(argv0);
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return sameFile(candidate, argv0) ? name : argv0;
  }
  return argv0;
}
