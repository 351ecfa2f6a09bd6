/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven over the Chrome
 * DevTools Protocol through --remote-debugging-pipe: the browser reads
 * commands on its fd 3 and writes answers and events on its fd 4, each a
 * JSON message ended by a NUL byte. No WebSocket, no npm package: Node's
 * spawn gives the two extra pipes. Run inside a test's namespace with
 * `ip netns exec` (which execs, so the child's PID is the browser's), and
 * ended by that PID: Browser.close, then SIGKILL if it lingers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = '/usr/bin/chromium';

/** Why Chromium cannot be driven here, or undefined. */
export function chromiumSkipReason(): string | undefined {
  if (spawnSync('sh', ['-c', `command -v ${CHROMIUM}`], { stdio: 'ignore' }).status !== 0) return 'chromium is not installed (make test installs it as root)';
  return undefined;
}

type Json = Record<string, unknown>;

interface Pending {
  method: string;
  resolve: (result: Json) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** One CDP connection over the browser's pipes. */
export class Cdp {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(method: string, params: Json, sessionId: string | undefined) => void>();
  private buffered: Buffer[] = [];
  private closedWith: Error | undefined;

  constructor(
    private readonly commands: Writable,
    answers: Readable,
  ) {
    answers.on('data', (chunk: Buffer) => this.receive(chunk));
    answers.on('close', () => this.fail(new Error('the browser closed its DevTools pipe')));
    commands.on('error', (error: Error) => this.fail(error));
  }

  /** Sends `method` (to a page's session when given) and resolves with its result; rejects on a protocol error or after `timeoutMs`. */
  send<T extends Json = Json>(method: string, params: Json = {}, sessionId?: string, timeoutMs = 20_000): Promise<T> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`CDP ${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (r: Json) => void, reject, timer });
      this.commands.write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`);
    });
  }

  /** Calls `listener` with every event; returns its removal. */
  onEvent(listener: (method: string, params: Json, sessionId: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private receive(chunk: Buffer): void {
    let start = 0;
    for (let nul = chunk.indexOf(0); nul >= 0; nul = chunk.indexOf(0, start)) {
      this.buffered.push(chunk.subarray(start, nul));
      this.dispatch(JSON.parse(Buffer.concat(this.buffered).toString('utf8')) as Json);
      this.buffered = [];
      start = nul + 1;
    }
    if (start < chunk.length) this.buffered.push(chunk.subarray(start));
  }

  private dispatch(message: Json): void {
    if (typeof message.id === 'number') {
      const p = this.pending.get(message.id);
      if (p === undefined) return;
      this.pending.delete(message.id);
      clearTimeout(p.timer);
      const error = message.error as { message?: string } | undefined;
      if (error !== undefined) p.reject(new Error(`CDP ${p.method}: ${error.message ?? JSON.stringify(error)}`));
      else p.resolve((message.result ?? {}) as Json);
      return;
    }
    for (const l of [...this.listeners]) l(String(message.method), (message.params ?? {}) as Json, message.sessionId as string | undefined);
  }

  private fail(error: Error): void {
    this.closedWith ??= error;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(error);
    }
  }
}

/** A tab, attached with its own session (flatten mode). */
export class Page {
  constructor(
    private readonly cdp: Cdp,
    readonly sessionId: string,
  ) {}

  send<T extends Json = Json>(method: string, params: Json = {}): Promise<T> {
    return this.cdp.send<T>(method, params, this.sessionId);
  }

  /** Loads `url` and resolves once its load event fired. */
  async navigate(url: string, timeoutMs = 20_000): Promise<void> {
    let remove = (): void => {};
    const loaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${url}: not loaded within ${timeoutMs} ms`)), timeoutMs);
      remove = this.cdp.onEvent((method, _params, sessionId) => {
        if (method === 'Page.loadEventFired' && sessionId === this.sessionId) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    try {
      const nav = await this.send<{ errorText?: string }>('Page.navigate', { url });
      if (nav.errorText) throw new Error(`${url}: ${nav.errorText}`);
      await loaded;
    } finally {
      remove();
    }
  }

  /** The value of `expression` in the page (awaited if it is a promise), as JSON; a thrown exception rejects. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value?: unknown }; exceptionDetails?: { text?: string; exception?: { description?: string } } }>('Runtime.evaluate', {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (r.exceptionDetails !== undefined) throw new Error(`${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** Polls `expression` every 100 ms until it is truthy and resolves with its value; rejects after `timeoutMs`. */
  async waitFor<T>(what: string, expression: string, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate<T>(expression);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A real mouse click at the centre of the first element `selector` matches (as a user's, through the input pipeline). */
  async click(selector: string): Promise<void> {
    const box = await this.evaluate<{ x: number; y: number } | null>(
      `(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null; e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`,
    );
    if (box === null) throw new Error(`click: nothing matches ${selector}`);
    for (const type of ['mousePressed', 'mouseReleased']) await this.send('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
  }

  /** A PNG of the whole page. */
  async screenshot(): Promise<Buffer> {
    const r = await this.send<{ data: string }>('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    return Buffer.from(r.data, 'base64');
  }
}

export class Browser {
  stderr = '';
  readonly cdp: Cdp;
  private readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 100_000) this.stderr += d;
    });
    this.cdp = new Cdp(child.stdio[3] as Writable, child.stdio[4] as Readable);
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Starts Chromium headless in namespace `netns` with its profile in
   * `profileDir` (the caller's throw-away directory); resolves once it
   * answers over the pipe.
   */
  static async launch(netns: string, profileDir: string, size = { width: 1400, height: 1000 }): Promise<Browser> {
    const args = [
      'netns', 'exec', netns, CHROMIUM,
      '--headless=new',
      // As root Chromium refuses its sandbox; the test's namespace is the fence.
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--remote-debugging-pipe',
      `--user-data-dir=${profileDir}`,
      `--window-size=${size.width},${size.height}`,
      'about:blank',
    ];
    const browser = new Browser(spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] }));
    try {
      await browser.cdp.send('Browser.getVersion', {}, undefined, 30_000);
    } catch (error) {
      await browser.close();
      throw new Error(`chromium did not answer: ${(error as Error).message}; stderr: ${browser.stderr.slice(-2000)}`);
    }
    return browser;
  }

  /** A new tab, attached, with Page and Runtime events on. */
  async newPage(): Promise<Page> {
    const { targetId } = await this.cdp.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this.cdp, sessionId);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    return page;
  }

  /** Asks the browser to close, then SIGKILLs its PID if it has not exited within `timeoutMs`. Idempotent. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.cdp.send('Browser.close', {}, undefined, timeoutMs).catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
