// The status page's Connect / Disconnect for a per-user OAuth server: the signed-in user connects their own
// account (the authorization server's page opens in a new tab and comes back to the control plane's
// callback), sees it connected, and disconnects. Real browser, the MCP SDK's example server with OAuth.
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';
import { requireSystemBinary } from '../support/system-binary.js';
import { ALICE_TOKEN, GATEWAY_TEST_ARGS, putServer, testAuthenticators } from '../gateway/gateway-support.js';

const chromiumBinary = requireSystemBinary('chromium', ['/usr/bin/chromium'], { envVar: 'CHROMIUM_PATH', install: 'apt-get install -y chromium' });
const WAIT = { timeout: 15_000 };

chromiumBinary.describe('status page: Connect / Disconnect of a per-user OAuth server', () => {
  let cp: TestControlPlane;
  let example: PeerProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const [mcpPort, authPort] = await Promise.all([freePort(), freePort()]);
    example = await startPeer(PEERS.sdkOAuthExample, ['--oauth', '--oauth-strict'], { env: { MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort) }, ports: [mcpPort, authPort] });
    cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators() });
    await putServer(cp, { name: 'needs-you', url: `http://localhost:${mcpPort}/mcp`, auth_data: { type: 'oauth2', grant_type: 'authorization_code' } });
    browser = await chromium.launch({ executablePath: chromiumBinary.path!, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cp?.dispose();
    await example?.kill();
  });

  it('connects the signed-in user through the authorization server, then disconnects them', async () => {
    await page.goto(`${cp.url}/ui`);
    await page.fill('#token', ALICE_TOKEN);
    await page.click('#login-form button[type="submit"]');
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    await page.locator('tr[data-name="needs-you"]').click();
    await page.locator('#detail-account', { hasText: 'Your account: not connected' }).waitFor(WAIT);

    const [tab] = await Promise.all([page.context().waitForEvent('page'), page.click('#account-connect')]);
    await tab.waitForURL(/\/oauth\/callback\?/, WAIT);
    await tab.locator('h1', { hasText: 'Account connected' }).waitFor(WAIT);
    await tab.close();

    // Selected again, the detail asks for the user's own status.
    await page.locator('#detail-close').click();
    await page.locator('tr[data-name="needs-you"]').click();
    await page.locator('#detail-account', { hasText: 'Your account: connected' }).waitFor(WAIT);
    await page.click('#account-disconnect');
    await page.locator('#detail-account', { hasText: 'Your account: not connected' }).waitFor(WAIT);
    const mine = await cp.api('/api/svc/v1/mcp-servers/name/needs-you', { token: ALICE_TOKEN });
    expect(mine.json.data.authStatus.status).toBe('authentication_required');
  });
});
