// The status page's files are served as they are, with a strict CSP, from src/ or (after npm run build)
// from dist/, which holds no copy of them.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findUiDir } from '../../src/http/ui/router.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const UI = join(ROOT, 'src', 'http', 'ui');

describe('GET /ui', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it.each([
    ['/ui', 'index.html', /^text\/html/],
    ['/ui/app.js', 'app.js', /^text\/javascript/],
    ['/ui/app.css', 'app.css', /^text\/css/],
  ])('serves %s without a token, as the file is, under a CSP that allows only this origin', async (path, file, type) => {
    const res = await cp.api(path, { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(type);
    expect(res.text).toBe(readFileSync(join(UI, file), 'utf8'));
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('redirects / to the status page', async () => {
    const res = await fetch(`${cp.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/ui');
  });

  it('finds the files from a built module in dist/ too', () => {
    expect(findUiDir(UI)).toBe(UI);
    expect(findUiDir(join(ROOT, 'dist', 'src', 'http', 'ui'))).toBe(UI);
    expect(() => findUiDir('/')).toThrow(/status page/);
  });

  it('never puts server data into the page as markup', () => {
    const script = readFileSync(join(UI, 'app.js'), 'utf8');
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(script).not.toMatch(/localStorage/);
  });
});
