/**
 * epoll instances of packet scripts (fs/eventpoll.c over tcp_poll): the
 * interest list, the ready list and what epoll_wait harvests from it.
 *
 * An item joins the ready list when it is added or modified while ready
 * (ep_insert, ep_modify), and on every wakeup of its socket whose events it
 * asked for (ep_poll_callback). Harvesting (ep_send_events) polls the item
 * again: nothing ready drops it from the list; else its events are
 * returned, and a level-triggered item stays listed while an edge-triggered
 * (EPOLLET) one waits for the next wakeup; EPOLLONESHOT disables it.
 *
 * The stack tells its application of readiness changes (Endpoint.onEvent)
 * after each batch, without saying which of Linux's wakeups happened; the
 * wakeups are rebuilt from what changed since the socket was last looked
 * at: new bytes received (sk_data_ready), the read side shut or an error
 * or hang-up appearing (sk_state_change, sk_error_report), a message put on
 * the error queue (sk_error_report again), and the socket turning writable
 * (sk_write_space).
 */
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { SYMBOLS } from './symbols.ts';
import { perRunTable } from './run-table.ts';

const EPOLLIN = SYMBOLS.EPOLLIN!;
const EPOLLOUT = SYMBOLS.EPOLLOUT!;
const EPOLLERR = SYMBOLS.EPOLLERR!;
const EPOLLHUP = SYMBOLS.EPOLLHUP!;
const EPOLLRDHUP = SYMBOLS.EPOLLRDHUP!;
const EPOLLET = SYMBOLS.EPOLLET!;
const EPOLLONESHOT = SYMBOLS.EPOLLONESHOT!;
/** The bits of a poll mask that a wakeup for readers carries (sk_data_ready's key, and the state and error wakeups). */
const READ_KEY = EPOLLIN | SYMBOLS.EPOLLRDNORM! | EPOLLRDHUP;
const WRITE_KEY = EPOLLOUT | SYMBOLS.EPOLLWRNORM!;

/** epoll_event.data as the script wrote it (fd, ptr, u32 or u64). */
export interface EpollData {
  field: 'fd' | 'ptr' | 'u32' | 'u64';
  value: number;
}

interface Item {
  ep: Endpoint;
  /** False once the script closed the fd: closing removes it from every epoll set (eventpoll_release). */
  open: () => boolean;
  events: number;
  data: EpollData;
  ready: boolean;
  disabled: boolean;
}

/** What a socket looked like when last seen, to tell which wakeups came since. */
interface Watch {
  bytesReceived: number;
  /** Messages queued on the error queue so far (TcpEndpoint.errorReports). */
  errorReports: number;
  mask: number;
  items: Set<Item>;
}

const watches = new WeakMap<Endpoint, Watch>();

/** The poll mask of an endpoint as tcp_poll reports it (POLLRDNORM, POLLWRNORM included). */
export type PollMask = (ep: Endpoint) => number;

function watch(ep: Endpoint, pollMask: PollMask): Watch {
  let w = watches.get(ep);
  if (w !== undefined) return w;
  const made: Watch = { bytesReceived: ep.info().bytesReceived, errorReports: errorReports(ep), mask: pollMask(ep), items: new Set() };
  w = made;
  watches.set(ep, made);
  const previous = ep.onEvent;
  ep.onEvent = (e) => {
    previous?.(e);
    const mask = pollMask(e);
    const bytes = e.info().bytesReceived;
    let key = 0;
    if (bytes !== made.bytesReceived && mask & EPOLLIN) key |= READ_KEY;
    const appeared = mask & ~made.mask;
    if (appeared & (EPOLLRDHUP | EPOLLIN)) key |= READ_KEY;
    if (appeared & EPOLLOUT) key |= WRITE_KEY;
    if (appeared & (EPOLLERR | EPOLLHUP)) key |= EPOLLERR | EPOLLHUP | READ_KEY | WRITE_KEY;
    // sock_def_error_report: every message queued on the error queue wakes with EPOLLERR, even with others already there.
    const reports = errorReports(e);
    if (reports !== made.errorReports) key |= EPOLLERR;
    made.errorReports = reports;
    made.bytesReceived = bytes;
    made.mask = mask;
    if (key === 0) return;
    for (const item of made.items) if (!item.disabled && key & item.events) item.ready = true;
  };
  return w;
}

function errorReports(ep: Endpoint): number {
  return ep instanceof TcpEndpoint ? ep.errorReports : 0;
}

export class EpollInstance {
  private readonly items = new Map<number, Item>();
  /** Readiness order: the ready list is a FIFO. */
  private order: number[] = [];

  constructor(private readonly pollMask: PollMask) {}

  /** epoll_ctl: 0, or the errno (EEXIST, ENOENT). */
  control(op: 'add' | 'mod' | 'del', fd: number, ep: Endpoint, events: number, data: EpollData, open: () => boolean = () => true): string | undefined {
    this.dropClosed();
    const existing = this.items.get(fd);
    if (op === 'del') {
      if (existing === undefined) return 'ENOENT';
      this.items.delete(fd);
      watches.get(existing.ep)?.items.delete(existing);
      return undefined;
    }
    if (op === 'add' && existing !== undefined) return 'EEXIST';
    if (op === 'mod' && existing === undefined) return 'ENOENT';
    // ep_insert / ep_modify: EPOLLERR and EPOLLHUP are always wanted.
    const item: Item = existing ?? { ep, open, events: 0, data, ready: false, disabled: false };
    item.events = events | EPOLLERR | EPOLLHUP;
    item.data = data;
    item.disabled = false;
    if (existing === undefined) {
      this.items.set(fd, item);
      watch(ep, this.pollMask).items.add(item);
    }
    if (this.pollMask(ep) & item.events) this.markReady(fd, item);
    return undefined;
  }

  private markReady(fd: number, item: Item): void {
    item.ready = true;
    if (!this.order.includes(fd)) this.order.push(fd);
  }

  private dropClosed(): void {
    for (const [fd, item] of this.items) {
      if (item.open()) continue;
      this.items.delete(fd);
      watches.get(item.ep)?.items.delete(item);
    }
  }

  /** ep_send_events: up to `max` ready items, each with its events now. */
  harvest(max: number): { events: number; data: EpollData }[] {
    this.dropClosed();
    // Wakeups since the last harvest put items on the list in fd order here.
    for (const [fd, item] of this.items) if (item.ready && !this.order.includes(fd)) this.order.push(fd);
    const out: { events: number; data: EpollData }[] = [];
    const keep: number[] = [];
    for (const fd of this.order) {
      const item = this.items.get(fd);
      if (item === undefined || !item.ready) continue;
      if (out.length >= max) {
        keep.push(fd);
        continue;
      }
      const revents = this.pollMask(item.ep) & item.events;
      item.ready = false;
      if (revents === 0) continue;
      out.push({ events: revents, data: item.data });
      if (item.events & EPOLLONESHOT) item.disabled = true;
      else if (!(item.events & EPOLLET)) {
        item.ready = true;
        keep.push(fd);
      }
    }
    this.order = keep;
    return out;
  }
}

/** The epoll instances of one script run, by script fd. */
export const epollTable = perRunTable<EpollInstance>();
