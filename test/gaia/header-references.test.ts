// GAIA's customHeaders follow the one masking rule of the native API: a value that is only a secret
// reference is shown as written; a literal value is masked.
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { createServer, gaia, SERVERS } from './support.js';

const LITERAL_CANARY = 'canary-literal-header-5c0e9a17';

describe('GAIA API: customHeaders holding secret references', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it('shows a reference-only header value as written, like the native API; a literal stays masked', async () => {
    const id = await createServer(cp, {
      projectId: 'proj-refs',
      name: 'Header References',
      transportType: 'http',
      url: 'http://127.0.0.1:9/mcp',
      customHeaders: [
        { name: 'X-Api-Key', value: '${env:MCP_CP_TEST_API_KEY}' },
        { name: 'Authorization', value: 'Bearer ${file:/run/secrets/token}' },
        { name: 'X-Team', value: LITERAL_CANARY },
        { name: 'X-Mixed', value: `${LITERAL_CANARY} \${env:MCP_CP_TEST_API_KEY}` },
      ],
    });
    // In the order the stored manifest keeps them (sorted by name).
    const expected = [
      { name: 'Authorization', value: 'Bearer ${file:/run/secrets/token}' },
      { name: 'X-Api-Key', value: '${env:MCP_CP_TEST_API_KEY}' },
      { name: 'X-Mixed', value: '********' },
      { name: 'X-Team', value: '********' },
    ];

    const one = await gaia(cp, `/${id}`);
    expect(one.status).toBe(200);
    expect(one.json.server.customHeaders).toEqual(expected);
    const list = await gaia(cp, '?projectId=proj-refs');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(LITERAL_CANARY);
    expect(JSON.stringify(list.json)).toContain('${env:MCP_CP_TEST_API_KEY}');

    // The same values as the native API answers them.
    const native = await cp.api(`${SERVERS}/${id}`);
    expect(native.json.data.manifest.additional_headers).toEqual(Object.fromEntries(expected.map((h) => [h.name, h.value])));
    expect(one.text).not.toContain(LITERAL_CANARY);
  });
});
