/**
 * ICMP for IPv4: echo (RFC 792, RFC 1122 §3.2.2.6) and the error messages the
 * stack sends (`icmp_send` in net/ipv4/icmp.c), with Linux's rules for when
 * an error must not be sent (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7).
 */
import type { Clock } from '../clock.ts';
import type { Counters, CounterName } from '../counters.ts';
import type { DropReason } from '../drop.ts';
import type { Sysctls } from '../sysctl.ts';
import type { TraceSink } from '../trace.ts';
import { LIMITED_BROADCAST, isMulticast, type Ipv4Address } from '../wire/addr.ts';
import { verifies } from '../wire/checksum.ts';
import {
  ICMP_DEST_UNREACH,
  ICMP_ECHO,
  ICMP_ECHO_REPLY,
  ICMP_HEADER,
  ICMP_PARAMETER_PROBLEM,
  ICMP_REDIRECT,
  ICMP_SOURCE_QUENCH,
  ICMP_TIME_EXCEEDED,
  isIcmpError,
  icmpCode,
  icmpRestOfHeader,
  icmpType,
  writeIcmpHeader,
} from '../wire/icmp.ts';
import { IPV4_MIN_HEADER, PROTO_ICMP, ipDestination, ipFragWord, ipHeaderLength, ipProtocol, ipSource, ipTos, IP_OFFSET_MASK } from '../wire/ipv4.ts';
import type { IpOutput } from './output.ts';
import { IcmpRateLimiter } from './ratelimit.ts';

/** RFC 1812 §4.3.2.3: an error quotes as much of the datagram as fits in 576 bytes. */
const ICMP_ERROR_MAX_PACKET = 576;
/** IPTOS_PREC_INTERNETCONTROL: Linux sends errors with precedence 6. */
const TOS_INTERNETCONTROL = 0xc0;
const TOS_MASK = 0x1e;

/** Errors from ICMP that the transport layer may want (TCP's tcp_v4_err, later). */
export type IcmpErrorHandler = (type: number, code: number, info: number, quoted: Uint8Array) => void;

const IN_TYPE_COUNTERS: Partial<Record<number, CounterName[]>> = {
  [ICMP_ECHO_REPLY]: ['IcmpInEchoReps', 'IcmpMsgInType0'],
  [ICMP_DEST_UNREACH]: ['IcmpInDestUnreachs', 'IcmpMsgInType3'],
  [ICMP_SOURCE_QUENCH]: ['IcmpInSrcQuenchs'],
  [ICMP_REDIRECT]: ['IcmpInRedirects'],
  [ICMP_ECHO]: ['IcmpInEchos', 'IcmpMsgInType8'],
  [ICMP_TIME_EXCEEDED]: ['IcmpInTimeExcds', 'IcmpMsgInType11'],
  [ICMP_PARAMETER_PROBLEM]: ['IcmpInParmProbs'],
};

/** ICMP types beyond NR_ICMP_TYPES (18) are errors to receive (icmp_rcv). */
const NR_ICMP_TYPES = 18;

export class Icmp {
  /** The rate limits; ICMPv6 shares its host-wide bucket (icmp_global_allow). */
  readonly limiter: IcmpRateLimiter;
  /** Set by the transport layers that care about ICMP errors, keyed by the quoted protocol. */
  readonly errorHandlers = new Map<number, IcmpErrorHandler>();

  constructor(
    private readonly address: Ipv4Address,
    private readonly clock: Clock,
    private readonly counters: Counters,
    private readonly sysctl: Sysctls,
    private readonly output: IpOutput,
    private readonly trace: () => TraceSink | undefined,
  ) {
    this.limiter = new IcmpRateLimiter(sysctl, clock.now());
  }

  /** icmp_rcv: `packet` is the whole (reassembled) IP datagram. */
  input(packet: Uint8Array, hl: number, total: number): DropReason | undefined {
    const c = this.counters;
    c.IcmpInMsgs++;
    if (total - hl < ICMP_HEADER) {
      c.IcmpInErrors++;
      return 'ICMP_INVALID';
    }
    if (!verifies(packet, hl, total)) {
      c.IcmpInCsumErrors++;
      c.IcmpInErrors++;
      return 'ICMP_CSUM';
    }
    const type = packet[hl]!;
    if (type > NR_ICMP_TYPES) {
      c.IcmpInErrors++;
      return 'ICMP_INVALID';
    }
    const counters = IN_TYPE_COUNTERS[type];
    if (counters) for (const name of counters) c[name]++;

    switch (type) {
      case ICMP_ECHO:
        if (this.sysctl.icmp_echo_ignore_all === 0) this.echoReply(packet, hl, total);
        return undefined;
      case ICMP_DEST_UNREACH:
      case ICMP_TIME_EXCEEDED:
      case ICMP_PARAMETER_PROBLEM:
      case ICMP_SOURCE_QUENCH:
        return this.deliverError(packet, hl, total);
      case ICMP_ECHO_REPLY:
        return undefined; // nobody pings from this stack; consumed as Linux's icmp_discard does
      default:
        return 'ICMP_IGNORED';
    }
  }

  /** icmp_unreach: hand the quoted header to the protocol it belongs to. */
  private deliverError(packet: Uint8Array, hl: number, total: number): DropReason | undefined {
    const quoted = packet.subarray(hl + ICMP_HEADER, total);
    // The quote must hold the original IP header and 8 bytes of its payload (RFC 792).
    if (quoted.length < IPV4_MIN_HEADER || quoted[0]! >> 4 !== 4) {
      this.counters.IcmpInErrors++;
      return 'ICMP_INVALID';
    }
    const qhl = ipHeaderLength(quoted);
    if (qhl < IPV4_MIN_HEADER || quoted.length < qhl + 8) {
      this.counters.IcmpInErrors++;
      return 'ICMP_INVALID';
    }
    const handler = this.errorHandlers.get(ipProtocol(quoted));
    if (handler) {
      const message = packet.subarray(hl, total);
      handler(icmpType(message), icmpCode(message), icmpRestOfHeader(message), quoted);
    }
    return undefined;
  }

  /** icmp_echo → icmp_reply: same identifier, sequence and data, TOS of the request. */
  private echoReply(request: Uint8Array, hl: number, total: number): void {
    const length = total - hl;
    const reply = this.output.allocate(
      {
        tos: ipTos(request),
        id: this.output.nextId(),
        dontFragment: false,
        ttl: this.sysctl.ip_default_ttl,
        protocol: PROTO_ICMP,
        source: this.address,
        destination: ipSource(request),
      },
      length,
    );
    reply.set(request.subarray(hl, total), IPV4_MIN_HEADER);
    // Identifier, sequence and data stay the request's (RFC 792).
    writeIcmpHeader(reply, IPV4_MIN_HEADER, reply.length, ICMP_ECHO_REPLY, 0);
    this.counters.IcmpOutEchoReps++;
    this.counters.IcmpMsgOutType0++;
    this.counters.IcmpOutMsgs++;
    this.output.send(reply);
  }

  /**
   * icmp_send: an error about `original` (a whole IP datagram, or its first
   * fragment). Returns whether one was sent. `info` is the 32-bit field after
   * the checksum (next-hop MTU, or the parameter-problem pointer << 24).
   */
  sendError(original: Uint8Array, type: number, code: number, info = 0): boolean {
    if (original.length < IPV4_MIN_HEADER) return false;
    const hl = ipHeaderLength(original);
    const source = ipSource(original);
    const destination = ipDestination(original);
    // Never about a non-initial fragment, nor about broadcast/multicast traffic
    // or from a source that cannot be answered (RFC 1122 §3.2.2).
    if ((ipFragWord(original) & IP_OFFSET_MASK) !== 0) return false;
    if (destination === LIMITED_BROADCAST || isMulticast(destination)) return false;
    if (source === 0 || source === LIMITED_BROADCAST || isMulticast(source)) return false;
    // Never about an ICMP error, nor about an ICMP type we cannot read (icmp_send's check of the inner type).
    if (ipProtocol(original) === PROTO_ICMP) {
      if (original.length < hl + 1) return false;
      const innerType = original[hl]!;
      if (innerType > NR_ICMP_TYPES || isIcmpError(innerType)) return false;
    }
    const now = this.clock.now();
    const verdict = this.limiter.allow(type, code, source, now);
    if (verdict !== 'ok') {
      if (verdict === 'global') this.counters.IcmpOutRateLimitGlobal++;
      else this.counters.IcmpOutRateLimitHost++;
      this.trace()?.({ kind: 'icmp-ratelimit', t: now, type, code, to: source, scope: verdict });
      return false;
    }

    const quoteLength = Math.min(original.length, ICMP_ERROR_MAX_PACKET - IPV4_MIN_HEADER - ICMP_HEADER);
    const packet = this.output.allocate(
      {
        tos: (ipTos(original) & TOS_MASK) | TOS_INTERNETCONTROL,
        id: this.output.nextId(),
        dontFragment: false,
        ttl: this.sysctl.ip_default_ttl,
        protocol: PROTO_ICMP,
        source: this.address,
        destination: source,
      },
      ICMP_HEADER + quoteLength,
    );
    const m = IPV4_MIN_HEADER;
    packet.set(original.subarray(0, quoteLength), m + ICMP_HEADER);
    writeIcmpHeader(packet, m, packet.length, type, code, info);

    const c = this.counters;
    c.IcmpOutMsgs++;
    if (type === ICMP_DEST_UNREACH) {
      c.IcmpOutDestUnreachs++;
      c.IcmpMsgOutType3++;
    } else if (type === ICMP_TIME_EXCEEDED) {
      c.IcmpOutTimeExcds++;
      c.IcmpMsgOutType11++;
    } else if (type === ICMP_PARAMETER_PROBLEM) {
      c.IcmpOutParmProbs++;
      c.IcmpMsgOutType12++;
    }
    this.trace()?.({ kind: 'icmp-out', t: now, type, code, to: source });
    this.output.send(packet);
    return true;
  }
}
