/**
 * Files of packet scripts, kept in memory: the runner touches no disk.
 * packetdrill's sendfile scripts make a file with a shell line
 * (`/bin/rm -f /tmp/testfile`, `/bin/dd bs=1 count=5 if=/dev/zero
 * of=/tmp/testfile status=none`), open() it and sendfile() it to the
 * socket; this holds those files and the fds open() hands out.
 */

export interface OpenFile {
  path: string;
  data: Uint8Array;
}

export interface ScriptFiles {
  /** Path → contents. */
  readonly paths: Map<string, Uint8Array>;
  /** Script fd → the open file. */
  readonly fds: Map<number, OpenFile>;
}

const tables = new WeakMap<object, ScriptFiles>();

/** The files of one run (`host`: the runner). */
export function scriptFiles(host: object): ScriptFiles {
  let t = tables.get(host);
  if (t === undefined) {
    t = { paths: new Map(), fds: new Map() };
    tables.set(host, t);
  }
  return t;
}

/**
 * `dd` as the scripts use it: bs=N count=M if=/dev/zero of=PATH (status=none
 * allowed); returns the file's path and contents, or a reason it is another
 * use of dd.
 */
export function ddZeros(args: readonly string[]): { path: string; data: Uint8Array } | string {
  const kv = new Map<string, string>();
  for (const a of args) {
    const m = /^(\w+)=(.*)$/.exec(a);
    if (!m) return `dd ${a}`;
    kv.set(m[1]!, m[2]!);
  }
  if (kv.get('if') !== '/dev/zero') return 'dd from other than /dev/zero';
  const of = kv.get('of');
  const bs = Number(kv.get('bs') ?? '512');
  const count = Number(kv.get('count'));
  if (of === undefined || !Number.isInteger(bs) || !Number.isInteger(count) || bs < 0 || count < 0) return 'dd without of=, bs= and count=';
  for (const k of kv.keys()) if (!['if', 'of', 'bs', 'count', 'status'].includes(k)) return `dd ${k}=`;
  if (bs * count > 64 * 1024 * 1024) return 'dd of more than 64 MiB';
  return { path: of, data: new Uint8Array(bs * count) };
}
