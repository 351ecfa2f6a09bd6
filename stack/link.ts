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
   * caller must not reuse them afterwards (unless the link copiesOnSend).
   * `txMeta`, when present, has a word per packet: its GSO size
   * (TX_GSO_SIZE_MASK; only from a stack made with `offload`, only to a
   * link that has offloads), > 0 making the packet a TCP super-segment to be
   * cut into segments of that many payload bytes, its checksum field holding
   * the pseudo-header sum (docs/offloads.md); and TX_CSUM_PARTIAL, only to a
   * link that completesChecksums.
   */
  send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void;
  /**
   * True when the link is done with every packet's bytes once send()
   * returns (a TUN write copies them into the kernel, as a NIC's DMA would
   * before the driver reuses a transmit ring slot): the stack then builds
   * the packets of its next flush in the same memory instead of allocating
   * new buffers. A link that may keep packets (a delaying wire, a queue)
   * leaves it unset.
   */
  readonly copiesOnSend?: boolean;
  /**
   * True when the link completes the TCP checksum of every packet marked
   * TX_CSUM_PARTIAL before anything sees it (a NIC's transmit checksum
   * offload, NETIF_F_HW_CSUM): a TUN device, in C as it writes or through
   * the kernel with offloads. A link that shows packets to anyone first (a
   * capture, the impairment layer) leaves it unset, and TCP sums in
   * JavaScript.
   */
  readonly completesChecksums?: boolean;
}

/** A txMeta word's GSO size (PacketSink.send): 0 for a packet that is sent as it is. */
export const TX_GSO_SIZE_MASK = 0xffff;
/**
 * A txMeta flag: the packet is IPv4 TCP and its checksum field holds the
 * folded pseudo-header sum; the link completes the checksum over the TCP
 * header and payload (CHECKSUM_PARTIAL with csum_start at the TCP header and
 * csum_offset 16, as __tcp_v4_send_check leaves it for the device). A
 * super-segment's checksum is always partial, flag or not.
 */
export const TX_CSUM_PARTIAL = 1 << 16;

/**
 * What a link says about each packet it delivers, one word per packet (the
 * TUN device's virtio_net_hdr, and its own checks): the GSO segment size in
 * the low 16 bits (0: a plain packet; otherwise a TCP segment the kernel did
 * not cut, made of segments of that size), and RX_CSUM_TRUSTED when the
 * transport checksum is not to be verified (the kernel owes it,
 * CHECKSUM_PARTIAL, or has checked it; or the link verified it, as a NIC's
 * receive checksum offload does: the TUN addon for IPv4 TCP). A link that
 * changes packets after that (the impairment layer's corruption) must not
 * pass the word on.
 */
export const RX_GSO_SIZE_MASK = 0xffff;
export const RX_CSUM_TRUSTED = 1 << 16;

/**
 * `backlogged`: the link read these packets at once after the previous
 * batch was handled, without waiting: they came while it was being handled
 * (or were already waiting behind it when that batch was full). A link that
 * cannot tell leaves it undefined. `rxMeta`: one word per packet
 * (RX_GSO_SIZE_MASK, RX_CSUM_TRUSTED) from a link that knows them; absent
 * otherwise.
 */
export type BatchHandler = (packets: Uint8Array[], backlogged?: boolean, rxMeta?: Uint32Array) => void;

export interface Link extends PacketSink {
  /** Largest packet the link carries, in bytes (the interface MTU). */
  readonly mtu: number;
  /**
   * True when the link takes super-segments (`txMeta`) and may deliver
   * them with `rxMeta`: a TUN device opened with offload.
   */
  readonly offload?: boolean;
  /**
   * Installs the receiver. Every packet that is ready when the link wakes up
   * arrives in one batch, so the stack can coalesce its answers.
   */
  onReceive(handler: BatchHandler): void;
  /** Stops delivery and releases the link; idempotent. */
  close(): void;
}
