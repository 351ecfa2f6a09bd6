/**
 * `ip [-4|-6] route {add|change|replace} PREFIX [via ADDR] [dev NAME]
 * [advmss N] [mtu [lock] N] [initcwnd N] [initrwnd N] [rto_min T]` (iproute2's
 * iproute_modify) as a packet script's shell line sets a route's metrics:
 * parsed here into the prefix and metrics the stack's route table takes
 * (stack/ip/route-metrics.ts); the runner checks the route against those
 * that exist, as the kernel's fib_table_insert does. Any other attribute
 * (window, features, quickack, ...) and any other `ip route`
 * command are refused as not supported, never skipped: the script's outcome
 * rests on them.
 */
import type { RouteMetrics } from '../../stack/ip/route-metrics.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';

export interface RouteCommand {
  /** NLM_F_CREATE | NLM_F_EXCL (add), NLM_F_REPLACE (change), both create and replace (replace). */
  op: 'add' | 'change' | 'replace';
  family: 4 | 6;
  /** The prefix's bytes (4 or 16) and length in bits. */
  prefix: Uint8Array;
  length: number;
  /** The prefix as the command spelled it (for messages). */
  prefixText: string;
  /** `via`: the gateway's family (an IPv4 gateway needs an IPv4 address on the device, and so on). */
  viaFamily: 4 | 6 | undefined;
  /** `dev`. */
  dev: string | undefined;
  metrics: RouteMetrics;
}

/** `ip route` words (after `ip`), or a reason the runner cannot model the line. */
export function parseIpRoute(w: readonly string[]): RouteCommand | { unsupported: string } {
  let i = 0;
  let family: 4 | 6 | undefined;
  while (w[i] === '-4' || w[i] === '-6') family = w[i++] === '-4' ? 4 : 6;
  if (!['route', 'ro', 'rou', 'rout', 'r'].includes(w[i] ?? '')) return { unsupported: 'ip commands other than ip route' };
  i++;
  const verb = w[i++] ?? '';
  const op = verb === 'add' || verb === 'a' ? 'add' : verb === 'change' || verb === 'chg' ? 'change' : verb === 'replace' ? 'replace' : undefined;
  if (op === undefined) return { unsupported: `ip route ${verb}: only add, change and replace (a route's metrics) are modelled` };
  if (w[i] === 'to') i++;
  const prefixText = w[i++];
  if (prefixText === undefined) return { unsupported: 'ip route without a prefix' };
  const slash = prefixText.indexOf('/');
  const addrText = slash < 0 ? prefixText : prefixText.slice(0, slash);
  let prefix: Uint8Array | undefined;
  if (addrText === 'default') {
    prefix = new Uint8Array(family === 6 ? 16 : 4);
  } else {
    const v4 = parseIpv4(addrText);
    if (v4 !== undefined) prefix = new Uint8Array([v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff]);
    else prefix = parseIpv6(addrText);
  }
  if (prefix === undefined) return { unsupported: `the prefix ${prefixText}` };
  const prefixFamily = prefix.length === 4 ? 4 : 6;
  if (family !== undefined && family !== prefixFamily) return { unsupported: `the prefix ${prefixText} in ip -${family}` };
  const maxLength = prefix.length * 8;
  const length = addrText === 'default' ? 0 : slash < 0 ? maxLength : Number(prefixText.slice(slash + 1));
  if (!Number.isInteger(length) || length < 0 || length > maxLength) return { unsupported: `the prefix ${prefixText}` };
  let viaFamily: 4 | 6 | undefined;
  let dev: string | undefined;
  const metrics = { advMss: 0, mtu: 0, mtuLocked: false, initCwnd: 0, initRwnd: 0, rtoMin: 0 };
  while (i < w.length) {
    const key = w[i++]!;
    let lock = false;
    if (w[i] === 'lock' && ['advmss', 'mtu', 'initcwnd', 'initrwnd', 'rto_min'].includes(key)) {
      lock = true;
      i++;
    }
    const value = w[i++];
    if (value === undefined) return { unsupported: `${key} without a value` };
    if (key === 'via') {
      const v = parseIpv4(value) !== undefined ? 4 : parseIpv6(value) !== undefined ? 6 : undefined;
      if (v === undefined) return { unsupported: `the gateway ${value}` };
      viaFamily = v;
      continue;
    }
    if (key === 'dev') {
      dev = value;
      continue;
    }
    if (key === 'rto_min') {
      const ms = rttMsecs(value);
      if (ms === undefined) return { unsupported: `rto_min ${value}` };
      metrics.rtoMin = ms;
      continue;
    }
    if (!['advmss', 'mtu', 'initcwnd', 'initrwnd'].includes(key)) {
      return { unsupported: `the route attribute ${key} (only via, dev, advmss, mtu [lock], initcwnd, initrwnd and rto_min are modelled)` };
    }
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n > 0xffffffff) return { unsupported: `${key} ${value}` };
    // ip_metrics_convert: an advmss above 65535 − 40 or an MTU above 65535 − 15 is cut to it.
    if (key === 'advmss') metrics.advMss = Math.min(n, 65535 - 40);
    else if (key === 'mtu') {
      metrics.mtu = Math.min(n, 65535 - 15);
      metrics.mtuLocked = lock;
    } else if (key === 'initcwnd') metrics.initCwnd = n;
    else metrics.initRwnd = n;
  }
  return { op, family: prefixFamily, prefix, length, prefixText, viaFamily, dev, metrics };
}

/**
 * iproute2's get_time_rtt: a time in ms, `N` (ms), `Nms`/`Nmsec`/`Nmsecs`
 * or `Ns`/`Nsec`/`Nsecs`, decimals rounded up; undefined for anything else.
 */
function rttMsecs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?)(s|sec|secs|ms|msec|msecs)?$/i.exec(text);
  if (m === null) return undefined;
  const t = Number(m[1]) * (m[2] !== undefined && m[2].toLowerCase().startsWith('s') ? 1000 : 1);
  return t > 0xffffffff ? undefined : Math.ceil(t);
}

/** The metrics a route command sets, for traces: `advmss 600 mtu lock 640 initcwnd 11`, or `no metrics`. */
export function routeMetricsText(r: RouteCommand): string {
  const m = r.metrics;
  const parts: string[] = [];
  if (m.advMss !== 0) parts.push(`advmss ${m.advMss}`);
  if (m.mtu !== 0) parts.push(`mtu ${m.mtuLocked ? 'lock ' : ''}${m.mtu}`);
  if (m.initCwnd !== 0) parts.push(`initcwnd ${m.initCwnd}`);
  if (m.initRwnd !== 0) parts.push(`initrwnd ${m.initRwnd}`);
  if (m.rtoMin !== 0) parts.push(`rto_min lock ${m.rtoMin}ms`);
  return parts.length === 0 ? 'no metrics' : parts.join(' ');
}
