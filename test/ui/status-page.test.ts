// The status page in a real browser (Debian's chromium, driven by playwright-core): sign in, watch a
// server become Ready after a PUT, see a broken file's error, see the reconnect, see a deleted server
// disappear, all without reloading. UPDATE_SCREENSHOT=1 refreshes docs/screenshot-ui.png; otherwise the
// screenshot goes to the temp directory, so a test run never changes the tree. Without a Chromium
// (CHROMIUM_PATH, /usr/bin/chromium) the suite is skipped with a warning, or fails under
// MCP_CP_TEST_REQUIRE_ALL=1 (see test/support/system-binary.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { requireSystemBinary } from '../support/system-binary.js';

const chromiumBinary = requireSystemBinary('chromium', ['/usr/bin/chromium'], { envVar: 'CHROMIUM_PATH', install: 'apt-get install -y chromium' });
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/screenshot-ui.png')
  : join(tmpdir(), `mcp-cp-ui-${process.pid}.png`);
const SERVERS = '/api/svc/v1/mcp-servers';
const WAIT = { timeout: 15_000 };

function fileServer(name: string, url: string): string {
  return `type: mcp-server/remote\nname: ${name}\ndescription: Declared in a watched directory\nurl: ${url}\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n`;
}

chromiumBinary.describe('status page (/ui) in chromium', () => {
  let cp: TestControlPlane;
  let upstream: RunningMcpServer;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-ui-'));
    upstream = await startMcpServer({
      transport: 'streamable-http',
      tools: [
        { name: 'search_issues', description: 'Search issues and pull requests.' },
        { name: 'create_issue', description: 'Open a new issue.' },
        { name: 'delete_repo', description: 'Delete a repository.' },
      ],
    });
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0', '--write-rate-limit', 'off'] });
    browser = await chromium.launch({
      executablePath: chromiumBinary.path!,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1500, height: 940 } });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cp?.dispose();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, follows the watch stream live and shows file errors, reconnects and deletions', async () => {
    await page.goto(`${cp.url}/ui`);
    await page.locator('#login-form').waitFor(WAIT);
    await page.locator('#dashboard').waitFor({ state: 'hidden', ...WAIT });
    // A wrong token is refused on the page.
    await page.fill('#token', 'not-the-token-0123456789');
    await page.click('#login-form button[type="submit"]');
    await page.locator('#login-error', { hasText: 'not valid' }).waitFor(WAIT);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login-form button[type="submit"]');
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    await page.locator('#login').waitFor({ state: 'hidden', ...WAIT });
    await page.locator('#servers').waitFor({ state: 'visible', ...WAIT });
    // Marks this document: if anything reloaded the page, the mark would be gone.
    await page.evaluate('window.neverReloaded = true');
    expect(await page.evaluate("sessionStorage.getItem('mcp-control-plane.token')")).toBe(ADMIN_TOKEN);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(page.url()).not.toContain(ADMIN_TOKEN);

    // A PUT through the API: the row appears and becomes Ready with its tools.
    const put = await cp.api(SERVERS, {
      method: 'PUT',
      body: { manifest: remoteManifest({ name: 'github-tools', url: upstream.url, tool_settings: [{ name: 'delete_repo', disabled: true }] }) },
    });
    expect(put.status).toBe(200);
    const row = page.locator('tr[data-name="github-tools"]');
    await page.locator('tr[data-name="github-tools"][data-ready="True"]').waitFor(WAIT);
    expect(await row.locator('[data-col="tools"]').innerText()).toMatch(/^3\s+1 disabled$/);
    expect(await row.locator('[data-col="source"]').innerText()).toBe('API');
    expect(await row.locator('[data-col="generation"]').innerText()).toBe('1 / 1');

    // A server that cannot be reached shows Ready False with the reason.
    await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'legacy-jira', description: 'Jira (old host)', url: 'http://127.0.0.1:9/mcp' }) } });
    await page.locator('tr[data-name="legacy-jira"][data-ready="False"]').waitFor(WAIT);
    expect(await page.locator('tr[data-name="legacy-jira"] [data-col="ready"]').innerText()).toContain('Unreachable');

    // Files: a good one becomes a server whose source is the file; a broken one shows file:line:col and why.
    writeFileSync(join(dir, 'docs-search.yaml'), fileServer('docs-search', upstream.url));
    await page.locator('tr[data-name="docs-search"][data-ready="True"]').waitFor(WAIT);
    expect(await page.locator('tr[data-name="docs-search"] [data-col="source"]').innerText()).toBe('docs-search.yaml');
    mkdirSync(join(dir, 'team'), { recursive: true });
    writeFileSync(join(dir, 'team', 'broken.yaml'), fileServer('broken', 'not a url'));
    const fileError = page.locator('#sources li[data-file="team/broken.yaml"]');
    await fileError.first().waitFor(WAIT);
    expect(await fileError.first().innerText()).toMatch(/^team\/broken\.yaml:4:\d+ .*absolute http:\/\/ or https:\/\/ URL/);

    // The detail view: conditions, tools (the disabled one marked), the last change, events.
    await cp.api(SERVERS, {
      method: 'PUT',
      body: { manifest: remoteManifest({ name: 'github-tools', description: 'GitHub tools (issues and PRs)', url: upstream.url, tool_settings: [{ name: 'delete_repo', disabled: true }] }) },
    });
    await page.locator('tr[data-name="github-tools"]', { hasText: '2 / 2' }).waitFor(WAIT);
    await row.click();
    await page.locator('#detail-name', { hasText: 'github-tools' }).waitFor(WAIT);
    await page.locator('#detail-conditions tr[data-type="Ready"]', { hasText: 'True' }).waitFor(WAIT);
    await page.locator('#detail-tools li.disabled[data-tool="delete_repo"]', { hasText: 'disabled' }).waitFor(WAIT);
    expect(await page.locator('#detail-tools li:not(.disabled)').count()).toBe(2);
    await page.locator('#detail-diff pre', { hasText: '~ /description: "GitHub tools for the platform team" → "GitHub tools (issues and PRs)"' }).waitFor(WAIT);
    await page.locator('#detail-events tr[data-reason="Updated"]').waitFor(WAIT);
    await page.locator('#detail-events tr[data-reason="Ready"]').first().waitFor(WAIT);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });

    // The stream drops and cannot come back for a moment: the page says so, then resumes and catches up.
    await page.route('**/api/svc/v1/mcp-servers?watch=true', (route) => route.abort());
    cp.watch.stop();
    cp.watch.start();
    await page.locator('#connection[data-state="reconnecting"]').waitFor(WAIT);
    await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'added-while-away', url: upstream.url }) } });
    await page.unroute('**/api/svc/v1/mcp-servers?watch=true');
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    await page.locator('tr[data-name="added-while-away"]').waitFor(WAIT);

    // A deleted server disappears (and its open detail closes).
    expect((await cp.api(`${SERVERS}/name/github-tools`, { method: 'DELETE' })).status).toBe(200);
    await row.waitFor({ state: 'detached', ...WAIT });
    await page.locator('#detail').waitFor({ state: 'hidden', ...WAIT });
    expect(await page.locator('tr[data-name="legacy-jira"]').count()).toBe(1);

    expect(await page.evaluate('window.neverReloaded')).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
