// The data-plane thread's memory settings: its isolate runs with a small young generation (V8's default
// for a worker, 48 MiB, was mostly resident memory it kept after one busy moment), and still serves.
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../../support/mcp-servers.js';
import { connectClient, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer } from '../gateway-support.js';
import { DATA_PLANE_YOUNG_GENERATION_MB, DataPlaneThread } from '../../../src/gateway/host/data-plane-thread.js';

let upstream: RunningMcpServer;
let cp: TestControlPlane;

beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, stateful: true });
  cp = await startTestControlPlane({ args: [...GATEWAY_TEST_ARGS, '--discovery-interval', '10m', '--data-plane', 'thread'] });
});
afterAll(async () => {
  await cp?.dispose();
  await upstream?.close();
});

describe('the data-plane thread', () => {
  it('runs with a young generation of DATA_PLANE_YOUNG_GENERATION_MB, well below the default, and serves calls', async () => {
    expect(cp.dataPlane).toBeInstanceOf(DataPlaneThread);
    const limits = (cp.dataPlane as DataPlaneThread).worker.resourceLimits;
    expect(limits?.maxYoungGenerationSizeMb).toBe(DATA_PLANE_YOUNG_GENERATION_MB);
    expect(DATA_PLANE_YOUNG_GENERATION_MB).toBeLessThanOrEqual(16);
    // Enough calls through the thread that its young generation fills and is collected many times over.
    await putServer(cp, { name: 'small-young', url: upstream.url });
    const { client } = await connectClient(cp, 'small-young');
    try {
      const text = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 200; i++) {
        const called = await client.callTool({ name: 'echo', arguments: { text: `${i}:${text}` } });
        expect(JSON.stringify(called.structuredContent)).toContain(`${i}:xxx`);
      }
    } finally {
      await client.close();
    }
  });
});
