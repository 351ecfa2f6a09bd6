/** IPv4 addresses are carried as unsigned 32-bit numbers inside the stack. */
import { readU32, writeU32 } from './bytes.ts';

export type Ipv4Address = number;

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad text; returns undefined for anything else. */
export function parseIpv4(text: string): Ipv4Address | undefined {
  const m = DOTTED.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    // inet_pton rejects leading zeros (they read as octal in inet_aton).
    if (m[i]!.length > 1 && m[i]![0] === '0') return undefined;
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(a: Ipv4Address): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export interface Ipv4Prefix {
  address: Ipv4Address;
  length: number;
}

/** Parses "A.B.C.D/N" (N in 0..32). */
export function parseIpv4Prefix(text: string): Ipv4Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,2}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  if (length > 32) return undefined;
  return { address, length };
}

export function prefixMask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

export function inPrefix(a: Ipv4Address, p: Ipv4Prefix): boolean {
  const mask = prefixMask(p.length);
  return ((a & mask) >>> 0) === ((p.address & mask) >>> 0);
}

/** 224.0.0.0/4 (RFC 5771). */
export function isMulticast(a: Ipv4Address): boolean {
  return a >>> 28 === 0xe;
}

/** The limited broadcast address 255.255.255.255 (RFC 919). */
export const LIMITED_BROADCAST = 0xffffffff;

/** The address in the four bytes at `offset`. */
export const readIpv4: (b: Uint8Array, offset: number) => Ipv4Address = readU32;

/** Writes the address into the four bytes at `offset`. */
export const writeIpv4: (b: Uint8Array, offset: number, a: Ipv4Address) => void = writeU32;
