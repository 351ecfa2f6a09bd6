/**
 * The boundary between the stack and whatever carries its packets.
 *
 * A link moves whole IPv4 packets (no link-layer header: a TUN device in
 * IFF_TUN|IFF_NO_PI mode, an in-memory wire, a packet-script runner). The stack
 * only ever sees `PacketSink`; drivers outside stack/ wire a `Link` to it.
 */
export interface PacketSink {
  /**
   * Hands a batch of packets to the link. The caller gives up the buffers:
   * the link may keep references to them (a delaying wire, a pcap tap), so the
   * caller must not reuse them afterwards.
   */
  send(packets: readonly Uint8Array[]): void;
}

/**
 * `backlogged`: the link read these packets at once after the previous
 * batch was handled, without waiting: they came while it was being handled
 * (or were already waiting behind it when that batch was full). A link that
 * cannot tell leaves it undefined.
 */
export type BatchHandler = (packets: Uint8Array[], backlogged?: boolean) => void;

export interface Link extends PacketSink {
  /** Largest packet the link carries, in bytes (the interface MTU). */
  readonly mtu: number;
  /**
   * Installs the receiver. Every packet that is ready when the link wakes up
   * arrives in one batch, so the stack can coalesce its answers.
   */
  onReceive(handler: BatchHandler): void;
  /** Stops delivery and releases the link; idempotent. */
  close(): void;
}
