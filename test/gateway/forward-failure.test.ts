// A session request this replica would forward, where forwarding fails before a byte is sent (an owner
// URL that cannot be parsed): the caller is answered an error and the process keeps serving (no unhandled
// rejection).
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { DataPlane } from '../../src/gateway/data-plane/index.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { EVERYONE_MAY_USE, gatewayEntry } from '../support/gateway-entries.js';

const TOKEN = 'forward-failure-token-0123456789';

let dir: string;
let store: SqliteGatewayStore;
let dataPlane: DataPlane;
let http: Server;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-forward-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  await store.apply(gatewayEntry('far', 'http://127.0.0.1:9/mcp', { collaborators: EVERYONE_MAY_USE }));
  dataPlane = new DataPlane({
    gateway: store,
    authenticator: new StaticTokenAuthenticator(TOKEN, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
    storePollIntervalMs: 0,
    sessionOwners: {
      selfId: 'self',
      newSessionId: () => 'self.1',
      ownerOf: async () => ({ kind: 'elsewhere', id: 'other', url: 'not a url' }),
      forwardCredential: async () => 'unused',
      admitForwarded: async () => undefined,
    },
  });
  const app = express();
  app.use('/mcp', dataPlane.handler);
  http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
});

afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await dataPlane?.close();
  await new Promise((resolve) => http?.close(resolve));
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('answers 502 when the owner replica cannot be reached, and keeps serving', async () => {
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp/far`;
  const send = () =>
    fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'mcp-session-id': 'other.1', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
  const first = await send();
  expect(first.status).toBe(502);
  expect(await first.text()).toMatch(/could not be forwarded/);
  expect((await send()).status).toBe(502);
  expect(rejections).toEqual([]);
});
