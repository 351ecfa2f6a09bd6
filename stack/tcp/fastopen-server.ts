/**
 * TCP Fast Open, the server side (RFC 7413; net/ipv4/tcp_fastopen.c). A
 * listener with a Fast Open queue (TCP_FASTOPEN, or every listener under
 * TFO_SERVER_WO_SOCKOPT1) answers a SYN that carries a valid cookie, or
 * data when no cookie is required, with a child made at once in SYN_RECV:
 * the SYN's data is queued and readable, accept() returns the child before
 * the handshake completes, and the SYN-ACK acknowledges the data
 * (tcp_try_fastopen, tcp_fastopen_create_child, tcp_fastopen_add_skb). A
 * cookie request (an empty option) or an invalid cookie gets a normal
 * request whose SYN-ACK carries the cookie for the SYN's addresses under
 * the primary key, in the form the SYN used (kind 34, or 254 with magic
 * 0xF989).
 *
 * The child keeps its request sock (tp->fastopen_rsk) until the final ACK:
 * tcp_check_req still screens its segments (Listener.checkRequest), the
 * xmit timer resends the SYN-ACK (tcp_fastopen_synack_timer in
 * timer-expiry.ts), and while it is unanswered it counts against the
 * queue's max_qlen (reqsk_fastopen_remove).
 */
import { IPV6_HANDLE_BASE } from '../address.ts';
import type { Segment } from './segment.ts';
import { TCP_TIMEOUT_INIT } from './constants.ts';
import type { Connection } from './connection.ts';
import type { TcpContext } from './context.ts';
import { fastOpenCookie, formatFastOpenKeys, parseFastOpenKeys, TCP_FASTOPEN_COOKIE_SIZE, TCP_FASTOPEN_KEY_LENGTH, type FastOpenKey } from './fastopen-cookie.ts';
import type { FastOpenQueue } from './fastopen-queue.ts';
import type { RequestOwner, RequestSock } from './request-sock.ts';
import { armRto } from './timer-arming.ts';

/** The server bits of net.ipv4.tcp_fastopen (TFO_* in include/net/tcp.h). */
export const TFO_SERVER_ENABLE = 0x2;
export const TFO_SERVER_COOKIE_NOT_REQD = 0x200;
export const TFO_SERVER_WO_SOCKOPT1 = 0x400;

/** reqsk_fastopen_remove: a child reset after accept() keeps counting against max_qlen for 60 s. */
const TFO_RESET_HOLD_MS = 60_000;

export { CHILD_PROCESSES, FastOpenQueue } from './fastopen-queue.ts';
/** fastopen_queue_tune: the queue length, at most net.core.somaxconn. */
export function fastOpenQueueTune(q: FastOpenQueue, backlog: number, somaxconn: number): void {
  q.maxQlen = Math.min(backlog >>> 0, somaxconn);
}

/**
 * tcp_fastopen_init_key_once: without a key written to the sysctl, a random
 * one, which the sysctl then shows (as the kernel's does).
 */
export function fastOpenInitKeyOnce(ctx: TcpContext): void {
  if (ctx.sysctl.tcp_fastopen_key !== '') return;
  const key = new Uint8Array(TCP_FASTOPEN_KEY_LENGTH);
  const view = new DataView(key.buffer);
  for (let i = 0; i < TCP_FASTOPEN_KEY_LENGTH; i += 4) view.setUint32(i, ctx.random.u32(), true);
  ctx.sysctl.tcp_fastopen_key = formatFastOpenKeys([key]);
}

/** tcp_fastopen_get_ctx: the socket's keys, else the namespace's (none before any was set or drawn). */
export function fastOpenKeysOf(ctx: TcpContext, q: FastOpenQueue | undefined): FastOpenKey[] | undefined {
  if (q?.keys !== undefined) return q.keys;
  const text = ctx.sysctl.tcp_fastopen_key;
  return text === '' ? undefined : parseFastOpenKeys(text);
}

/** An address as its IP header carries it: 4 bytes, or an IPv6 handle's 16. */
function addressBytes(ctx: TcpContext, a: number): Uint8Array {
  if (a < IPV6_HANDLE_BASE) return Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
  const book = ctx.addresses;
  const at = book.offsetOf(a);
  return book.store.slice(at, at + 16);
}

/** __tcp_fastopen_cookie_gen_cipher: the cookie for the SYN's source and destination under `key`. */
function cookieForSyn(ctx: TcpContext, key: FastOpenKey, syn: Segment): Uint8Array {
  return fastOpenCookie(key, addressBytes(ctx, syn.src), addressBytes(ctx, syn.dst));
}

function sameCookie(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === TCP_FASTOPEN_COOKIE_SIZE && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** What a listener needs of itself for tcp_try_fastopen. */
export interface FastOpenListener extends RequestOwner {
  /** tcp_fastopen_create_child: the child, already in the connection table (TcpLayer.createFastOpenChild). */
  makeFastOpenChild(req: RequestSock, syn: Segment): Connection;
}

export interface FastOpenVerdict {
  /** The child made at the SYN; its SYN-ACK and the accept queue are the caller's (tcp_conn_request). */
  child?: Connection;
  /** The cookie option the SYN-ACK carries (foc after tcp_try_fastopen), or none. */
  synAckCookie?: { cookie: Uint8Array; exp: boolean };
}

/**
 * tcp_fastopen_queue_check: Fast Open on, and room in the queue, where the
 * oldest held reset child whose 60 s are over makes room; otherwise
 * TCPFastOpenListenOverflow.
 */
function queueCheck(ctx: TcpContext, q: FastOpenQueue | undefined): boolean {
  if (q === undefined || q.maxQlen === 0) return false;
  if (q.qlen >= q.maxQlen) {
    const expires = q.resetExpiries[0];
    if (expires === undefined || expires > ctx.now()) {
      ctx.counters.TcpExtTCPFastOpenListenOverflow++;
      return false;
    }
    q.resetExpiries.shift();
    q.qlen--;
  }
  return true;
}

/**
 * tcp_try_fastopen, for a SYN a listener takes (not under SYN cookies):
 * TCPFastOpenCookieReqd for an empty option; nothing more unless the
 * server bit is on, the SYN has data or an option, and the queue has room.
 * Data without a cookie is enough under TFO_SERVER_COOKIE_NOT_REQD (or
 * TCP_FASTOPEN_NO_COOKIE); else an 8-byte cookie must match the primary
 * key's, or the backup's (TCPFastOpenPassiveAltKey: the SYN-ACK then hands
 * out the primary's). A child made counts TCPFastOpenPassive; an invalid
 * cookie TCPFastOpenPassiveFail and a normal handshake whose SYN-ACK
 * carries the valid cookie, as a cookie request's does.
 */
export function tryFastOpen(ctx: TcpContext, l: FastOpenListener, syn: Segment, req: RequestSock): FastOpenVerdict {
  const o = syn.options;
  const c = ctx.counters;
  const focLength = o.fastOpenLength;
  // end_seq != seq + 1: a SYN with FIN never gets here, so data it is.
  const synData = syn.payload.length > 0;
  const tfo = ctx.sysctl.tcp_fastopen;
  const q = l.fastOpen;
  if (focLength === 0) c.TcpExtTCPFastOpenCookieReqd++;
  if (!(tfo & TFO_SERVER_ENABLE) || !(synData || focLength >= 0) || !queueCheck(ctx, q)) return {};
  const make = (alternate: boolean, valid: Uint8Array | undefined): FastOpenVerdict => {
    const child = createChild(l, q!, syn, req);
    if (alternate) c.TcpExtTCPFastOpenPassiveAltKey++;
    c.TcpExtTCPFastOpenPassive++;
    return { child, synAckCookie: alternate && valid !== undefined ? { cookie: valid, exp: o.fastOpenExp } : undefined };
  };
  if (synData && ((tfo & TFO_SERVER_COOKIE_NOT_REQD) !== 0 || q!.noCookie)) return make(false, undefined);
  const keys = fastOpenKeysOf(ctx, q);
  // valid_foc: the primary key's cookie, made only for a SYN with the option
  // (len -1 otherwise, or without any key: no option in the SYN-ACK then).
  const valid = focLength >= 0 && keys !== undefined && keys.length > 0 ? cookieForSyn(ctx, keys[0]!, syn) : undefined;
  if (focLength > 0) {
    // tcp_fastopen_cookie_gen_check: 1 for the primary key, 2 for the backup.
    const theirs = o.fastOpenCookie.subarray(0, focLength);
    let match = 0;
    if (valid !== undefined && sameCookie(theirs, valid)) match = 1;
    else if (keys !== undefined && keys.length > 1 && sameCookie(theirs, cookieForSyn(ctx, keys[1]!, syn))) match = 2;
    if (match !== 0) return make(match === 2, valid);
    c.TcpExtTCPFastOpenPassiveFail++;
  }
  return { synAckCookie: valid === undefined ? undefined : { cookie: valid, exp: o.fastOpenExp } };
}

/**
 * tcp_fastopen_create_child: the child from the request (the layer's
 * syn_recv_sock), counted in the queue, the request kept as its
 * fastopen_rsk, and the xmit timer armed for the SYN-ACK at
 * TCP_TIMEOUT_INIT (req->timeout).
 */
function createChild(l: FastOpenListener, q: FastOpenQueue, syn: Segment, req: RequestSock): Connection {
  const child = l.makeFastOpenChild(req, syn);
  q.qlen++;
  req.tfoListener = true;
  req.owner = l;
  req.retrans = 0;
  req.timeouts = 0;
  child.fastOpenReq = req;
  armRto(child, TCP_TIMEOUT_INIT);
  return child;
}

/**
 * reqsk_fastopen_remove: the child lets go of its request (handshake
 * complete, or the child ended). It leaves the queue, unless a RST ended a
 * child already accepted while the listener still listens: then it stays
 * counted for 60 s, a defence against spoofed Fast Open SYNs (the CoNEXT
 * 2011 paper's).
 */
export function fastOpenRemove(c: Connection, reset: boolean): void {
  const req = c.fastOpenReq;
  c.fastOpenReq = undefined;
  const l = req?.owner;
  if (req === undefined || l === undefined) return;
  const q = l.fastOpen;
  if (q === undefined) return;
  q.qlen--;
  req.tfoListener = false;
  if (!req.childAccepted) return;
  if (!reset || l.closed) return;
  q.resetExpiries.push(c.now() + TFO_RESET_HOLD_MS);
  q.qlen++;
}
