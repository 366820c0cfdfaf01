// The status page marks a server whose file is gone while its prune is held back (the quiet period),
// in its row and its detail, and drops the mark when the file comes back. Real browser, real files.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { requireSystemBinary } from '../support/system-binary.js';

const chromiumBinary = requireSystemBinary('chromium', ['/usr/bin/chromium'], { envVar: 'CHROMIUM_PATH', install: 'apt-get install -y chromium' });
const WAIT = { timeout: 15_000 };

function fileServer(name: string): string {
  return `type: mcp-server/remote\nname: ${name}\ndescription: Declared in a watched directory\nurl: http://127.0.0.1:9/mcp\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n`;
}

chromiumBinary.describe('status page: a held-back prune whose file is gone', () => {
  let cp: TestControlPlane;
  let browser: Browser;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-ui-gone-'));
    writeFileSync(join(dir, 'stays.yaml'), fileServer('stays'));
    writeFileSync(join(dir, 'goes.yaml'), fileServer('goes'));
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0', '--prune-quiet-period', '1h'] });
    browser = await chromium.launch({ executablePath: chromiumBinary.path!, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cp?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('says so in the row and the detail, and stops saying so when the file is back', async () => {
    await page.goto(`${cp.url}/ui`);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login-form button[type="submit"]');
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    await page.locator('tr[data-name="goes"]').waitFor(WAIT);
    expect(await page.locator('tr[data-name="goes"] [data-gone]').count()).toBe(0);

    unlinkSync(join(dir, 'goes.yaml'));
    const mark = page.locator('tr[data-name="goes"] [data-col="source"] [data-gone="true"]');
    await mark.waitFor(WAIT);
    expect(await mark.innerText()).toBe('file gone, prune held back');
    expect(await mark.getAttribute('title')).toMatch(/the file is gone/);
    expect(await page.locator('tr[data-name="stays"] [data-gone]').count()).toBe(0);

    await page.locator('tr[data-name="goes"]').click();
    await page.locator('#detail-name', { hasText: 'goes' }).waitFor(WAIT);
    await page.locator('#detail', { hasText: 'gone: the file is gone' }).waitFor(WAIT);

    writeFileSync(join(dir, 'goes.yaml'), fileServer('goes'));
    await mark.waitFor({ state: 'detached', ...WAIT });
  });
});
