/**
 * Freezing the applications while the stack runs on (`up`'s SIGUSR2): the
 * services get their endpoints from an AppGate's provider, and every endpoint
 * it hands out (listeners and accepted connections alike) goes through the
 * gate. While the gate is frozen, the applications behave like processes
 * stopped with SIGSTOP:
 *
 * - readiness events from the stack are held back (one per endpoint);
 * - accept() and read() answer "nothing yet" (null, EAGAIN), write() takes
 *   nothing (0, EAGAIN), so code that still runs (a timer, a stream's
 *   queued work) changes nothing on the wire;
 * - close() and shutdown() are deferred: the endpoint is closed for the
 *   application at once, for the stack only on unfreeze.
 *
 * The stack itself is not gated: it keeps acknowledging, retransmitting and
 * running its timers; receive buffers fill and windows close. On unfreeze the
 * deferred calls run and every endpoint that missed an event or was answered
 * EAGAIN gets one event, in the order they happened, so the applications pick
 * up where they were. Queries (state, poll, info, addresses) and socket
 * options pass through at any time: they act on nothing.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { SocketError, type Endpoint, type ShutdownHow, type SocketErrno, type TcpInfo, type TcpInfoStruct, type TcpStateName } from '../../stack/socket/types.ts';

export class AppGate {
  /** Hand this to the services instead of the stack's own provider. */
  readonly provider: TcpProvider;
  private frozenNow = false;
  /** Deferred calls and events, in the order they arose. */
  private readonly deferred: Array<{ call: boolean; run: () => void }> = [];
  /** Endpoints with an event already among the deferred work. */
  private readonly owed = new Set<GatedEndpoint>();

  constructor(inner: TcpProvider) {
    this.provider = {
      socket: (family) => new GatedEndpoint(this, inner.socket(family)),
      ipv6: inner.ipv6,
      connections: () => inner.connections(),
      listeners: () => inner.listeners(),
    };
  }

  get frozen(): boolean {
    return this.frozenNow;
  }

  /** Deferred calls and events waiting for unfreeze(). */
  get pending(): number {
    return this.deferred.length;
  }

  freeze(): void {
    this.frozenNow = true;
  }

  /** Runs what was deferred, in order; returns how many calls and events that was. */
  unfreeze(): number {
    this.frozenNow = false;
    const work = this.deferred.splice(0);
    this.owed.clear();
    for (const item of work) runGuarded(item.run);
    return work.length;
  }

  /**
   * The applications behind this gate are gone (the host crashed, or `up`
   * stops): the events they missed are dropped, the close() and shutdown()
   * calls they made run now (on a crashed host's dead endpoints they send
   * nothing), and from now on every call passes straight through.
   */
  discard(): void {
    this.frozenNow = false;
    const work = this.deferred.splice(0);
    this.owed.clear();
    for (const item of work) if (item.call) runGuarded(item.run);
  }

  /** @internal wraps an endpoint the stack created (an accepted connection). */
  wrap(endpoint: Endpoint): Endpoint {
    return new GatedEndpoint(this, endpoint);
  }

  /** @internal an event for `endpoint`: delivered now, or once on unfreeze. */
  event(endpoint: GatedEndpoint): void {
    if (this.frozenNow) this.owe(endpoint);
    else endpoint.deliver();
  }

  /** @internal true (and an event owed) when a call must answer EAGAIN because the gate is frozen. */
  holds(endpoint: GatedEndpoint): boolean {
    if (!this.frozenNow) return false;
    this.owe(endpoint);
    return true;
  }

  /** @internal runs `call` now, or on unfreeze. */
  run(call: () => void): void {
    if (this.frozenNow) this.deferred.push({ call: true, run: call });
    else call();
  }

  private owe(endpoint: GatedEndpoint): void {
    if (this.owed.has(endpoint)) return;
    this.owed.add(endpoint);
    this.deferred.push({ call: false, run: () => endpoint.deliver() });
  }
}

/** One application's exception must not keep the others frozen (as the stack's own delivery loop). */
function runGuarded(run: () => void): void {
  try {
    run();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** Every inner endpoint's onEvent: one function, its wrapper found in userData (no closure per connection). */
function gatedEvent(inner: Endpoint): void {
  const gated = inner.userData as GatedEndpoint;
  gated.gate.event(gated);
}

/** An Endpoint whose application-side calls and events go through an AppGate. */
class GatedEndpoint implements Endpoint {
  private handler: ((endpoint: Endpoint) => void) | undefined;
  private closed = false;
  /** The application's own (the inner endpoint's is this wrapper). */
  userData: unknown = undefined;

  constructor(
    readonly gate: AppGate,
    private readonly inner: Endpoint,
  ) {
    inner.userData = this;
    inner.onEvent = gatedEvent;
  }

  get onEvent(): ((endpoint: Endpoint) => void) | undefined {
    return this.handler;
  }

  set onEvent(handler: ((endpoint: Endpoint) => void) | undefined) {
    this.handler = handler;
  }

  deliver(): void {
    if (!this.closed) this.handler?.(this);
  }

  private check(syscall: string): void {
    if (this.closed) throw new SocketError('EBADF', syscall);
  }

  // Queries pass through.
  get state(): TcpStateName {
    return this.inner.state;
  }
  get family(): 4 | 6 {
    return this.inner.family;
  }
  get localAddress(): string {
    return this.inner.localAddress;
  }
  get localPort(): number {
    return this.inner.localPort;
  }
  get remoteAddress(): string {
    return this.inner.remoteAddress;
  }
  get remotePort(): number {
    return this.inner.remotePort;
  }
  get writableBytes(): number {
    return this.inner.writableBytes;
  }
  get receiveBuffer(): number {
    return this.inner.receiveBuffer;
  }
  get sendBuffer(): number {
    return this.inner.sendBuffer;
  }
  get readableBytes(): number {
    return this.inner.readableBytes;
  }
  poll(): number {
    return this.inner.poll();
  }
  info(): TcpInfo {
    return this.inner.info();
  }
  tcpInfo(): TcpInfoStruct {
    return this.inner.tcpInfo();
  }
  getError(): SocketErrno | undefined {
    return this.inner.getError();
  }

  // Setting up (services do it before anything can be frozen) passes through.
  bind(address?: string | number, port?: number): void {
    this.check('bind');
    this.inner.bind(address, port);
  }
  listen(backlog: number): void {
    this.check('listen');
    this.inner.listen(backlog);
  }
  connect(address: string | number, port: number): void {
    this.check('connect');
    this.inner.connect(address, port);
  }

  // The calls that act are held while frozen.
  accept(): Endpoint | null {
    this.check('accept');
    if (this.gate.holds(this)) return null;
    const child = this.inner.accept();
    return child === null ? null : this.gate.wrap(child);
  }

  read(max?: number): Uint8Array | null {
    this.check('read');
    if (this.gate.holds(this)) return null;
    return this.inner.read(max);
  }

  readInPlace(max?: number): Uint8Array | null {
    this.check('read');
    if (this.gate.holds(this)) return null;
    return this.inner.readInPlace(max);
  }

  writeZeroCopy(data: Uint8Array): number {
    this.check('write');
    if (this.gate.holds(this)) return 0;
    return this.inner.writeZeroCopy(data);
  }

  write(data: Uint8Array): number {
    this.check('write');
    if (this.gate.holds(this)) return 0;
    return this.inner.write(data);
  }

  shutdown(how: ShutdownHow): void {
    this.check('shutdown');
    if (!this.gate.frozen) {
      this.inner.shutdown(how);
      return;
    }
    this.gate.run(() => {
      try {
        this.inner.shutdown(how);
      } catch (error) {
        // The application was told it worked; a connection gone meanwhile has nothing to shut.
        if (!(error instanceof SocketError)) throw error;
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.userData = undefined;
    this.gate.run(() => this.inner.close());
  }

  // Options only take effect through the calls above.
  setNoDelay(on: boolean): void {
    this.inner.setNoDelay(on);
  }
  setKeepAlive(on: boolean, idleSeconds?: number, intervalSeconds?: number, count?: number): void {
    this.inner.setKeepAlive(on, idleSeconds, intervalSeconds, count);
  }
  setLinger(on: boolean, seconds: number): void {
    this.inner.setLinger(on, seconds);
  }
  setUserTimeout(ms: number): void {
    this.inner.setUserTimeout(ms);
  }
  setReuseAddress(on: boolean): void {
    this.inner.setReuseAddress(on);
  }
  setV6Only(on: boolean): void {
    this.inner.setV6Only(on);
  }
  setReceiveBuffer(bytes: number): void {
    this.inner.setReceiveBuffer(bytes);
  }
  setSendBuffer(bytes: number): void {
    this.inner.setSendBuffer(bytes);
  }
}
