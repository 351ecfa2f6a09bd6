/**
 * The Python agent (agent.py beside this file) as seen from the harness:
 * one process per namespace, one JSON command per line on stdin, one JSON
 * reply per line on stdout, every call bounded in time.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import type { Family } from './family.ts';
import { spawnIn, systemTool, type Child } from './lab.ts';

export const AGENT_PATH = join(dirname(fileURLToPath(import.meta.url)), 'agent.py');

/** The interpreter: Debian's own python3 when present (starts fastest), else python3 on PATH. */
export function pythonCommand(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : (systemTool('python3') ?? 'python3');
}

export function havePython(): boolean {
  return spawnSync(pythonCommand(), ['-c', 'pass'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

export interface AgentReply {
  r: string;
  info: { lport?: number; rport?: number };
}

export class Agent {
  private buffer = '';
  private waiting: { resolve: (line: string) => void; reject: (e: Error) => void } | undefined;
  private readonly lines: string[] = [];
  private dead: Error | undefined;

  private constructor(
    private readonly proc: Child,
    readonly ns: string,
  ) {
    proc.child.stdout!.on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = undefined;
          w.resolve(line);
        } else {
          this.lines.push(line);
        }
      }
    });
    void proc.exited.then(({ code, signal }) => {
      this.dead = new Error(`agent in ${ns} exited (${code ?? signal}): ${proc.stderr().trim().slice(-500)}`);
      this.waiting?.reject(this.dead);
      this.waiting = undefined;
    });
  }

  /** An agent whose sockets (and crafted packets) are of `family`. */
  static async start(ns: string, family: Family): Promise<Agent> {
    const proc = spawnIn(ns, [pythonCommand(), '-u', AGENT_PATH, String(family)], 'pipe');
    const agent = new Agent(proc, ns);
    const hello = await agent.nextLine(10_000);
    if (!hello.includes('ready')) throw new Error(`agent in ${ns} said ${hello}`);
    return agent;
  }

  private nextLine(timeoutMs: number): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`agent in ${this.ns}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Sends one command and waits for its reply (bounded by `boundMs`). */
  async call(cmd: Record<string, unknown>, boundMs: number): Promise<AgentReply> {
    if (this.dead) throw this.dead;
    this.proc.child.stdin!.write(JSON.stringify(cmd) + '\n');
    const line = await this.nextLine(boundMs);
    const reply = JSON.parse(line) as AgentReply & { error?: string };
    if (reply.error !== undefined) throw new Error(`agent in ${this.ns}: ${cmd.op}: ${reply.error}`);
    return { r: reply.r, info: reply.info ?? {} };
  }

  async stop(): Promise<void> {
    if (this.proc.isRunning()) {
      try {
        this.proc.child.stdin!.end(JSON.stringify({ op: 'quit' }) + '\n');
      } catch {
        /* pipe closed */
      }
    }
    await this.proc.stop('SIGTERM', 2000);
  }
}
