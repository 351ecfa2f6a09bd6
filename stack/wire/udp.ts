/** UDP header (RFC 768), read in place; byte 0 is the first byte of the UDP header. */
export const UDP_HEADER = 8;

export const udpSourcePort = (d: Uint8Array): number => (d[0]! << 8) | d[1]!;
export const udpDestinationPort = (d: Uint8Array): number => (d[2]! << 8) | d[3]!;
export const udpLength = (d: Uint8Array): number => (d[4]! << 8) | d[5]!;
export const udpChecksum = (d: Uint8Array): number => (d[6]! << 8) | d[7]!;
