// Reads and writes of /api/svc/v1/mcp-servers for e2e tests, and waits on a server's conditions.
import { waitFor, type ApiResponse, type TestControlPlane } from './control-plane.js';

export const SERVERS = '/api/svc/v1/mcp-servers';

export interface ConditionView {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
}

export interface ToolView {
  name: string;
  description?: string;
  upstreamDescription?: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  disabled: boolean;
}

export interface ServerView {
  id: string;
  fqn: string;
  name: string;
  generation: number;
  tools: ToolView[];
  authStatus: { status: string; method: string | null; message: string };
  metadata: Record<string, unknown>;
  status: { observedGeneration: number; conditions: ConditionView[] };
}

export interface EventView {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export function condition(server: ServerView, type: string): ConditionView | undefined {
  return server.status.conditions.find((c) => c.type === type);
}

/** PUT a manifest; fails the test unless the API answered 200. */
export async function putServer(
  cp: TestControlPlane,
  manifest: Record<string, unknown>,
  extra: { metadata?: Record<string, unknown>; dryRun?: boolean } = {},
): Promise<ApiResponse & { json: { data: ServerView } }> {
  const res = await cp.api(SERVERS, { method: 'PUT', body: { manifest, ...extra } });
  if (res.status !== 200) throw new Error(`PUT ${String(manifest.name)} answered ${res.status}: ${res.text}`);
  return res;
}

export async function getServer(cp: TestControlPlane, name: string): Promise<ServerView> {
  const res = await cp.api(`${SERVERS}/name/${name}`);
  if (res.status !== 200) throw new Error(`GET ${name} answered ${res.status}: ${res.text}`);
  return res.json.data as ServerView;
}

/** Waits until the server's current generation has a Ready condition with this status (and reason, when given). */
export function waitForReady(
  cp: TestControlPlane,
  name: string,
  status: 'True' | 'False' | 'Unknown',
  options: { reason?: string; timeoutMs?: number } = {},
): Promise<ServerView> {
  return waitFor(
    async () => {
      const res = await cp.api(`${SERVERS}/name/${name}`);
      if (res.status === 404) return undefined; // not stored yet (a watched file is still being read)
      if (res.status !== 200) throw new Error(`GET ${name} answered ${res.status}: ${res.text}`);
      const server = res.json.data as ServerView;
      const ready = condition(server, 'Ready');
      const matches =
        server.status.observedGeneration === server.generation &&
        ready?.status === status &&
        (options.reason === undefined || ready.reason === options.reason);
      return matches ? server : undefined;
    },
    { what: `${name} Ready=${status}${options.reason ? ` (${options.reason})` : ''}`, timeoutMs: options.timeoutMs ?? 10_000 },
  );
}

export async function eventsOf(cp: TestControlPlane, id: string): Promise<EventView[]> {
  const res = await cp.api(`${SERVERS}/${id}/events`);
  if (res.status !== 200) throw new Error(`GET events answered ${res.status}: ${res.text}`);
  return res.json.data as EventView[];
}

export async function refresh(cp: TestControlPlane, id: string): Promise<ApiResponse> {
  return cp.api(`${SERVERS}/${id}/refresh`, { method: 'POST' });
}

/** Every answer a client could see about the servers, as text, for "no secret anywhere" checks. */
export async function everyAnswer(cp: TestControlPlane, names: string[]): Promise<string[]> {
  const texts: string[] = [];
  texts.push((await cp.api(SERVERS)).text, (await cp.api('/api/svc/v1/gateway/servers')).text, (await cp.api('/api/svc/v1/events')).text);
  for (const name of names) {
    const one = await cp.api(`${SERVERS}/name/${name}`);
    texts.push(one.text);
    if (one.status === 200) texts.push((await cp.api(`${SERVERS}/${one.json.data.id}/events`)).text);
  }
  return texts;
}
