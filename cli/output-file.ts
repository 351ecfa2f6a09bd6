/**
 * Checks of the options that name a file tcpstack writes (--pcap,
 * --trace-file), made while parsing, before any device, namespace or file is
 * created: the directory must exist (it is never created) and nothing may
 * be at the path yet. tcpstack overwrites no file it did not create, so an
 * existing file is refused too (not replaced as `tcpdump -w` would), and the
 * writers open with O_EXCL (tun/pcap.ts, cli/timeline/live.ts) so a file
 * that appears in between is not clobbered either.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './usage.ts';

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

/** What kind of file `stats` describes ("a FIFO"), for messages. */
export function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFile()) return 'a regular file';
  return 'a special file';
}

/** Why the directory of `path` cannot receive a new file, or undefined when it can. */
export function missingDirectory(path: string): string | undefined {
  const dir = dirname(path);
  let stats: Stats;
  try {
    stats = statSync(dir);
  } catch (error) {
    const why = code(error);
    return why === 'ENOENT' || why === 'ENOTDIR' ? `directory ${dir} does not exist (it is not created)` : `directory ${dir}: ${why}`;
  }
  if (!stats.isDirectory()) return `${dir} is not a directory`;
  try {
    accessSync(dir, constants.W_OK);
  } catch (error) {
    return `cannot create a file in ${dir} (${code(error)})`;
  }
  return undefined;
}

/** Refuses (UsageError naming `option`) a path that cannot be written as a new regular file. */
export function checkOutputFile(option: string, path: string): void {
  if (path === '') throw new UsageError(`${option} needs a file name`);
  let stats: Stats | undefined;
  try {
    stats = statSync(path);
  } catch (error) {
    if (code(error) !== 'ENOENT' && code(error) !== 'ENOTDIR') throw new UsageError(`${option} ${path}: ${code(error)}`);
  }
  if (stats === undefined) {
    const why = missingDirectory(path);
    if (why !== undefined) throw new UsageError(`${option} ${path}: ${why}`);
    return;
  }
  if (!stats.isFile()) throw new UsageError(`${option} ${path}: ${fileKind(stats)}, not a regular file: tcpstack writes only regular files`);
  throw new UsageError(`${option} ${path}: exists; tcpstack does not overwrite files (remove it or name a new file)`);
}

/** Refuses two options that name the same file (each would truncate the other's output). */
export function checkDistinctFiles(paths: Array<[option: string, path: string | undefined]>): void {
  const seen = new Map<string, string>();
  for (const [option, path] of paths) {
    if (path === undefined || path === 'none') continue;
    const key = resolve(path);
    const other = seen.get(key);
    if (other !== undefined) throw new UsageError(`${other} and ${option} name the same file ${path}`);
    seen.set(key, option);
  }
}
