// Third-party MCP servers (server-everything, the SDK's examples, mcp-proxy) as child processes on free
// loopback ports: started, polled until their port answers, and killed by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOOPBACK_ONLY = join(ROOT, 'test', 'support', 'loopback-listen.mjs');

export const PEERS = {
  everything: join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'),
  sdkOAuthExample: join(ROOT, 'node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js'),
  mcpProxy: join(ROOT, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs'),
  stdioServer: join(ROOT, 'test/support/stdio-server.mjs'),
};

/** A port free on 127.0.0.1 now (bound, read and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface PeerProcess {
  child: ChildProcess;
  /** What it wrote, for the message of a failed start. */
  output(): string;
  kill(): Promise<void>;
}

/**
 * Runs `node <script> ...args` with the loopback-only preload and waits until every port in `ports`
 * accepts connections (or the process exits, or `timeoutMs` passes: then it throws with its output).
 */
export async function startPeer(script: string, args: string[], opts: { env?: Record<string, string>; ports: number[]; timeoutMs?: number }): Promise<PeerProcess> {
  const child = spawn(process.execPath, ['--import', LOOPBACK_ONLY, script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    if (out.length < 20_000) out += b.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const peer: PeerProcess = {
    child,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  try {
    for (const port of opts.ports) {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`${script} exited (${child.exitCode}) before port ${port} answered:\n${out}`);
          return portAnswers(port);
        },
        { timeoutMs: Math.max(0, deadline - Date.now()), what: `${script} to listen on ${port}` },
      );
    }
  } catch (err) {
    await peer.kill();
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  return peer;
}
