// Request bodies are UTF-8 JSON only. The nesting guard scans the raw bytes, which is exact for UTF-8
// alone: in UTF-16 a character such as U+2241 holds the byte of `"` and would hide the brackets after it.
// So any other charset is 415 before anything is parsed, checked or stored.
import { remoteManifest, startTestControlPlane, ADMIN_TOKEN, type TestControlPlane } from '../support/control-plane.js';

const API = '/api/svc/v1/mcp-servers';

/** A PUT body whose metadata nests `depth` levels, behind a U+2241 in a string. */
function deepBody(name: string, depth: number): string {
  const manifest = JSON.stringify(remoteManifest({ name, description: 'not \u2241 equal' }));
  return `{"manifest":${manifest},"metadata":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}

describe('request body charsets', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp.dispose();
  });

  const send = async (path: string, method: string, body: Buffer, contentType: string) => {
    const res = await fetch(`${cp.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType } });
    return { status: res.status, json: (await res.json()) as { error?: { code: string; message: string } } };
  };

  it.each([
    ['5,000 deep (was a stack overflow)', 5000],
    ['600 deep (was stored)', 600],
    ['10 deep', 10],
  ])('a UTF-16LE body nested %s is 415 and stores nothing', async (_label, depth) => {
    const name = `utf16-${depth}`;
    for (const charset of ['utf-16le', 'utf-16', 'UTF-16BE']) {
      const body = Buffer.from(deepBody(name, depth), 'utf16le');
      if (charset === 'UTF-16BE') body.swap16();
      const r = await send(API, 'PUT', body, `application/json; charset=${charset}`);
      expect(r.status).toBe(415);
      expect(r.json.error).toMatchObject({ code: 'UnsupportedMediaType', message: expect.stringContaining('UTF-8') });
    }
    expect((await cp.api(`${API}/name/${name}`)).status).toBe(404);
  });

  it('the GAIA-style API refuses a UTF-16 body too', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'gaia-utf16', url: 'http://127.0.0.1:9/mcp', description: '\u2241' }), 'utf16le');
    const r = await send('/api/mcp/servers', 'POST', body, 'application/json; charset=utf-16le');
    expect(r.status).toBe(415);
    expect(JSON.stringify(r.json)).toContain('UTF-8');
  });

  it('a UTF-8 body (charset named or not) nested too deep is 400, and a proper one is stored', async () => {
    const deep = await send(API, 'PUT', Buffer.from(deepBody('utf8-deep', 100)), 'application/json; charset=utf-8');
    expect(deep.status).toBe(400);
    expect(deep.json.error!.message).toContain('nested deeper than 64 levels');
    for (const [name, type] of [['utf8-named', 'application/json; charset=UTF-8'], ['utf8-plain', 'application/json']]) {
      const ok = await send(API, 'PUT', Buffer.from(deepBody(name!, 5)), type!);
      expect(ok.status).toBe(200);
    }
  });
});
