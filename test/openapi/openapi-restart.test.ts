// While a discovery is under way (here: its document fetch held), an OpenAPI server keeps its tools: after a
// restart the gateway store's tools of the generation it serves, after a change that does not touch what the
// tools are made of the record of the last discovery; status stays Ready.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { connectClient, GATEWAY_TEST_ARGS } from '../gateway/gateway-support.js';
import { startPetstoreServer, type PetstoreServer } from './petstore-server.js';

let store: PetstoreServer;
let dataDir: string;
const planes: TestControlPlane[] = [];

beforeAll(async () => {
  store = await startPetstoreServer();
  dataDir = mkdtempSync(join(tmpdir(), 'mcp-cp-openapi-restart-'));
});
afterAll(async () => {
  store.holdSpec(false);
  for (const cp of planes) await cp.dispose();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<TestControlPlane> {
  const cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, dataDir });
  planes.push(cp);
  return cp;
}

const ready = async (cp: TestControlPlane) =>
  ((await cp.api('/api/svc/v1/mcp-servers/name/petstore')).json?.data?.status.conditions as { type: string; status: string }[] | undefined)?.find((c) => c.type === 'Ready')?.status;

it('serves the stored tools while the first discovery after a restart is still reading the document', async () => {
  const first = await start();
  const manifest = {
    type: 'mcp-server/openapi',
    name: 'petstore',
    description: 'Petstore',
    url: store.baseUrl,
    openapi_spec_source: { type: 'remote', url: store.specUrl },
    collaborators: [],
  };
  expect((await first.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest } })).status).toBe(200);
  await waitFor(async () => (await ready(first)) === 'True', { what: 'petstore Ready' });
  await first.stop();

  store.holdSpec(true);
  const fetchesBefore = store.requests.filter((r) => r.url === '/api/v3/openapi.yaml').length;
  const second = await start();
  // The new process reconciled (its entry written first) and its discovery is now waiting for the document.
  await waitFor(() => store.requests.filter((r) => r.url === '/api/v3/openapi.yaml').length > fetchesBefore, { what: 'the held document fetch' });
  expect(await ready(second)).toBe('True');
  const { client } = await connectClient(second, 'petstore');
  try {
    expect((await client.listTools()).tools).toHaveLength(19);
    const pet = await client.callTool({ name: 'getPetById', arguments: { petId: 1 } });
    expect(pet.isError).toBeFalsy();
  } finally {
    await client.close();
  }
});

it('keeps serving the tools, Ready, while a change that does not touch them is discovered again', async () => {
  store.holdSpec(false);
  const cp = planes.at(-1)!;
  await waitFor(async () => (await ready(cp)) === 'True', { what: 'petstore Ready after the held discovery' });
  const fetches = () => store.requests.filter((r) => r.url === '/api/v3/openapi.yaml').length;
  store.holdSpec(true);
  const before = fetches();
  const manifest = (await cp.api('/api/svc/v1/mcp-servers/name/petstore')).json.data.manifest;
  const res = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: { ...manifest, description: 'The Petstore, described anew' } } });
  expect(res.status).toBe(200);
  const generation = res.json.data.generation as number;
  // The new generation is being discovered (its fetch held), and status already describes it.
  await waitFor(() => fetches() > before, { what: 'the held document fetch of the new generation' });
  const view = await waitFor(async () => {
    const v = (await cp.api('/api/svc/v1/mcp-servers/name/petstore')).json.data;
    return v.status.observedGeneration === generation ? v : undefined;
  });
  expect((view.status.conditions as { type: string; status: string }[]).find((c) => c.type === 'Ready')?.status).toBe('True');
  expect(view.tools).toHaveLength(19);
  const { client } = await connectClient(cp, 'petstore');
  try {
    expect((await client.listTools()).tools).toHaveLength(19);
  } finally {
    await client.close();
  }
});
