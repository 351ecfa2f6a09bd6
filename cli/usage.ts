/** Command-line misuse: reported as one line and exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure of the environment (no /dev/net/tun, not root...): one line, exit status 1. */
export class FatalError extends Error {
  override readonly name = 'FatalError';
}

export function parseInteger(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option} expects an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${option} expects an integer from ${min} to ${max}, got ${n}`);
  return n;
}
