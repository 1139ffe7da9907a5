import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { ingress, service, tlsSecret, yamlOf } from '../helpers/manifests.js';

/** Screenshots land here (gitignored), for a person to look at after a run. */
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test-artifacts', 'dashboard');
const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 15_000;

describe('dashboard: the admin page, in headless Chromium, after real traffic', () => {
  const cert = makeCert(['shop.example.com'], { days: 20 });
  let web: EchoBackend;
  let gw: RunningGateway;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  const problems: string[] = [];
  const elsewhere: string[] = [];

  const manifests = (broken: boolean): string =>
    yamlOf(
      ...service('web', [{ port: web.port }]),
      ...service('empty', []),
      tlsSecret('shop-tls', cert.cert, cert.key),
      ingress('shop', {
        tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
        annotations: { 'gatehouse.io/ssl-redirect': 'false' },
        rules: [{ host: 'shop.example.com', paths: [{ path: '/api', service: 'web' }, { path: '/down', service: 'empty' }] }],
      }),
      ingress('broken', { rules: [{ host: 'broken.example.com', paths: [{ path: broken ? 'no-slash' : '/', service: 'web' }] }] }),
    );

  const text = (selector: string) => page.locator(selector).innerText();
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  /** The flow rows' texts, newest first. */
  const flowRows = () => page.locator('#flows tbody tr').allInnerTexts();

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    web = await startEchoBackend('web');
    gw = await startGateway(manifests(true));
    origin = `http://127.0.0.1:${gw.adminPort}`;
    // Traffic before the page opens: it shows it from the ring.
    assert.equal((await request(gw.httpPort, { host: 'shop.example.com', path: '/api/before' })).status, 200);
    assert.equal((await request(gw.httpsPort, { host: 'shop.example.com', path: '/api/tls', tls: { servername: 'shop.example.com' } })).status, 200);
    assert.equal((await request(gw.httpPort, { host: 'shop.example.com', path: '/down' })).status, 503);
    // A path a client wrote to attack the page: it must show as text.
    assert.equal((await request(gw.httpPort, { host: 'shop.example.com', path: '/api/<img/src=x/onerror=alert(1)>' })).status, 200);

    // A fresh profile; every name but loopback unresolvable, so the page must work offline.
    profile = mkdtempSync(join(tmpdir(), 'gh-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); void d.dismiss(); });
    page.on('request', (r) => { if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('data:')) elsewhere.push(r.url()); });
    await page.goto(`${origin}/`);
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await gw?.stop();
    await web?.close();
  });

  test('the page is served by the admin port with a strict content security policy', async () => {
    const res = await fetch(`${origin}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    for (const asset of ['/dashboard.js', '/dashboard.css']) assert.equal((await fetch(`${origin}${asset}`)).status, 200, asset);
  });

  test('routes: host → path → Service → endpoints, with their health', async () => {
    await page.locator('#routes tbody tr').first().waitFor({ timeout: WAIT_MS });
    const rows = await page.locator('#routes tbody tr').allInnerTexts();
    const api = rows.find((r) => r.includes('/api'));
    assert.ok(api, rows.join('\n'));
    assert.match(api, /shop\.example\.com/);
    assert.match(api, /default\/shop/);
    assert.match(api, /default\/web:/);
    assert.match(api, new RegExp(`ready\\s+127\\.0\\.0\\.1:${web.port}`));
    const down = rows.find((r) => r.includes('/down'));
    assert.ok(down, rows.join('\n'));
    assert.match(down, /no endpoints/);
    assert.equal(await text('#routes-count'), `(${rows.length})`);
    assert.equal(rows.length, (await gw.status()).routes.length);
  });

  test('certificates: the secret, its hosts and the days to expiry', async () => {
    const row = await text('#certificates tbody tr');
    assert.match(row, /default\/shop-tls/);
    assert.match(row, /shop\.example\.com/);
    // makeCert made it valid for 20 days from now: 19 or 20 whole days are left.
    assert.match(row, /\b(19|20) days\b/);
  });

  test('crypto offload: the mode and why', async () => {
    assert.equal(await text('#crypto-mode'), 'software');
    assert.match(await text('#crypto-reason'), /software/);
    assert.equal(await text('#crypto-devices'), 'none found');
  });

  test('rejected objects: the object, the field and the fix', async () => {
    const row = await text('#rejected tbody tr');
    assert.match(row, /Ingress default\/broken/);
    assert.match(row, /spec\.rules\[0\]\.http\.paths\[0\]\.path/);
    assert.match(row, /\//);
    await shot('1-status');
  });

  test('flows: the traffic before the page opened, with verdicts and the hostile path as text', async () => {
    await page.locator('#flows tbody tr').nth(3).waitFor({ timeout: WAIT_MS });
    const rows = await flowRows();
    assert.ok(rows.some((r) => /FORWARDED/.test(r) && r.includes('shop.example.com/api/before') && r.includes('200')), rows.join('\n'));
    assert.ok(rows.some((r) => /FORWARDED/.test(r) && r.includes('/api/tls') && /TLSv1\.3/.test(r)), rows.join('\n'));
    assert.ok(rows.some((r) => /ERROR\s+no-endpoint/.test(r) && r.includes('/down') && r.includes('503')), rows.join('\n'));
    assert.ok(rows.some((r) => r.includes('/api/<img/src=x/onerror=alert(1)>')), rows.join('\n'));
    assert.equal(await page.locator('#flows img').count(), 0, 'the path became an element');
    assert.equal(await text('#flows-state'), 'following');
  });

  test('flows: a new request appears live, without reloading the page', async () => {
    assert.equal((await request(gw.httpPort, { host: 'shop.example.com', path: '/api/live-1' })).status, 200);
    await page.locator('#flows tbody tr', { hasText: '/api/live-1' }).waitFor({ timeout: WAIT_MS });
    assert.match((await flowRows())[0]!, /\/api\/live-1/, 'the newest flow is on top');
    await shot('2-flows');
  });

  test('flows: the filters of gatehouse observe, and --not', async () => {
    await page.fill('#f-verdict', 'ERROR');
    await page.click('#filters button[type=submit]');
    await page.locator('#flows tbody tr', { hasText: '/down' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await text('#flows-state'), 'following, 1 filter');
    const onlyErrors = await page.locator('#flows tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset['verdict']));
    assert.deepEqual([...new Set(onlyErrors)], ['ERROR']);

    // The filter holds for new flows too: a forwarded request does not show, a failing one does.
    assert.equal((await request(gw.httpPort, { host: 'shop.example.com', path: '/api/hidden' })).status, 200);
    assert.equal((await request(gw.httpPort, { host: 'shop.example.com', path: '/down/live' })).status, 503);
    await page.locator('#flows tbody tr', { hasText: '/down/live' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#flows tbody tr', { hasText: '/api/hidden' }).count(), 0);

    await page.check('#n-verdict');
    await page.fill('#f-http-path', '^/api/');
    await page.click('#filters button[type=submit]');
    await page.locator('#flows tbody tr', { hasText: '/api/hidden' }).waitFor({ timeout: WAIT_MS });
    const rows = await flowRows();
    assert.ok(rows.every((r) => !/ERROR/.test(r) && /\/api\//.test(r)), rows.join('\n'));
    await shot('3-filtered');
  });

  test('flows: a filter the gateway cannot use is shown with its reason', async () => {
    await page.click('#clear');
    await page.fill('#f-http-status', 'abc');
    await page.click('#filters button[type=submit]');
    await page.locator('#filter-error').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await text('#filter-error'), /http-status/);
    assert.equal(await text('#flows-state'), 'stopped');
    await page.click('#clear');
    await page.locator('#filter-error').waitFor({ state: 'hidden', timeout: WAIT_MS });
  });

  test('the page follows changes: a fixed object leaves the rejected list', async () => {
    await gw.update(manifests(false), (s) => s.rejected.length === 0);
    await page.locator('#rejected .empty').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.equal(await text('#rejected-count'), '(0)');
    await page.locator('#routes tbody tr', { hasText: 'broken.example.com' }).waitFor({ timeout: WAIT_MS });
    await shot('4-fixed');
  });

  test('the page loaded nothing from elsewhere and logged no error but the refused filter', () => {
    assert.deepEqual(elsewhere, []);
    // Chromium logs every 4xx answer: the one /flows gave for http-status=abc above.
    assert.deepEqual(problems, ['console error: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
  });
});
