/** UDP header (RFC 768), read in place; byte 0 is the first byte of the UDP header. */
import * as bytes from './bytes.ts';

// A module-local binding, as in tcp.ts (an imported one is read through the
// module's import cell at every call).
const { readU16 } = bytes;

export const UDP_HEADER = 8;
/** Byte position of the length field (RFC 768). */
export const UDP_LENGTH_FIELD = 4;

export const udpSourcePort = (d: Uint8Array): number => readU16(d, 0);
export const udpDestinationPort = (d: Uint8Array): number => readU16(d, 2);
export const udpLength = (d: Uint8Array): number => readU16(d, 4);
export const udpChecksum = (d: Uint8Array): number => readU16(d, 6);
