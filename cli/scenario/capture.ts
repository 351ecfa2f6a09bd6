/**
 * tcpdump in the peer namespace on the peer's interface (the veth end in the
 * kernel run, the TUN device in the stack run): the same viewpoint for both
 * runs. Packet-buffered (-U) so the file can be read while the capture runs
 * (crafted segments take their live sequence numbers from it). TCP of the
 * run's family only: over IPv6 the link also carries neighbour discovery,
 * router solicitations and MLD, which nothing compares.
 */
import { join } from 'node:path';
import type { Family } from './family.ts';
import { delay, spawnIn, type Child } from './lab.ts';
import { readPcap, type TcpPacket } from './pcap-read.ts';

export class Capture {
  private constructor(
    private readonly proc: Child,
    readonly path: string,
  ) {}

  /** Starts tcpdump and resolves once it says "listening on" (bounded). */
  static async start(ns: string, iface: string, dir: string, family: Family): Promise<Capture> {
    const path = join(dir, `${iface}.pcap`);
    // -Z root: write the file as root (tcpdump otherwise drops to its own user).
    const proc = spawnIn(ns, ['tcpdump', '-i', iface, '-n', '-U', '--immediate-mode', '-s', '256', '-Z', 'root', '-w', path, family === 4 ? 'ip and tcp' : 'ip6 and tcp']);
    try {
      await proc.waitFor(/listening on/, 'stderr', 10_000);
    } catch (error) {
      await proc.stop('SIGKILL');
      throw error;
    }
    return new Capture(proc, path);
  }

  /** What has been captured so far. */
  packets(): TcpPacket[] {
    return readPcap(this.path);
  }

  /** Lets the last packets land, stops tcpdump by its PID (it flushes on SIGINT), returns every packet. */
  async stop(settleMs = 150): Promise<TcpPacket[]> {
    await delay(settleMs);
    await this.proc.stop('SIGINT', 3000);
    return readPcap(this.path);
  }

  stderr(): string {
    return this.proc.stderr();
  }
}
