/**
 * Tables that belong to one script run (its epoll instances, its pipe
 * ends), keyed by the run's host in a WeakMap: made on first use, gone
 * with the run, never shared between runs of one process.
 */
export function perRunTable<T>(): (host: object) => Map<number, T> {
  const tables = new WeakMap<object, Map<number, T>>();
  return (host) => {
    let t = tables.get(host);
    if (t === undefined) {
      t = new Map();
      tables.set(host, t);
    }
    return t;
  };
}
