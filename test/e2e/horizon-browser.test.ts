// Debian's Horizon in a real browser against a real `kumo up` (fake virt driver): headless
// Chromium (playwright-core driving Debian's chromium) logs in as demo and as admin and opens
// every Project, Admin and Identity page the sidebar offers, one detail page of each panel that
// has them with each of its tabs, and the launch-instance wizard. No page may answer 5xx (nor any
// request it makes to the dashboard), show an error banner or toast, say "Unable to retrieve",
// bounce to the login page or be Django's error page; and Kumo's access log must show no 5xx for
// anything Horizon asked. Screenshots of the overview, an instance, the network topology and the
// launch wizard are saved (and copied into docs/screenshots/ with KUMO_SCREENSHOTS_TO_DOCS=1).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, horizonSkip, startHorizon, type HorizonProcess } from './helpers/horizon.js';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { KumoRest, type Json } from './helpers/qemu-guests.js';

const OUTPUT_DIR = process.env.KUMO_TEST_OUTPUT_DIR ?? join(tmpdir(), 'kumo-horizon-browser');
const DOCS_SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const DASHBOARDS = ['/project/', '/admin/', '/identity/'];
/** One page (with the requests it makes) must settle within this; the suite's time is the sum. */
const PAGE_TIMEOUT_MS = 45_000;
const STEP = { timeout: 240_000 };

type User = 'demo' | 'admin';

/**
 * What the pages show today that is not a Kumo bug small enough to fix beside this test: Cinder
 * API families Kumo does not have though its microversion (3.70) promises them, so Horizon asks,
 * and one Horizon bug. A problem is known when it contains `sign`; every other problem fails the
 * test, and so does an entry that no page shows any more (the gap was closed: take it out).
 */
const KNOWN: { sign: string; why: string }[] = [
  { sign: 'Unable to retrieve volume groups', why: 'Kumo has no generic volume groups: GET /volume/v3/groups/detail is 404' },
  { sign: 'Unable to retrieve volume group snapshots', why: 'Kumo has no group snapshots: GET /volume/v3/group_snapshots/detail is 404' },
  { sign: 'Unable to retrieve group types', why: 'Kumo has no group types: GET /volume/v3/group_types is 404' },
  {
    sign: "?tab=instance_details__console: script error: Cannot read properties of undefined (reading 'add')",
    why: "Horizon's own: with no console to show (the fake driver has none), its console tab calls horizon.toast.add before horizon.toast exists",
  },
];

/** What went wrong on one page; an empty list is a clean page. */
interface PageReport {
  url: string;
  problems: string[];
}

/** Everything a user's crawl saw, kept for the report and the assertions. */
interface Crawl {
  visited: string[];
  problems: string[];
}

describe('Horizon in a browser', { skip: horizonSkip, timeout: 600_000 }, () => {
  let root: string;
  let kumo: KumoProcess;
  let rest: KumoRest;
  let horizon: HorizonProcess;
  let browser: Browser;
  const seeded: Record<string, string> = {};
  /** The KNOWN entries some page showed, for the check that none is stale. */
  const seenKnown = new Set<string>();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-horizon-'));
    mkdirSync(OUTPUT_DIR, { recursive: true });
    kumo = await startKumo({ dataDir: join(root, 'data'), env: { KUMO_DEFAULT_NETWORKS: '1' }, logLevel: 'info' });
    rest = new KumoRest(kumo.url, kumo.dataDir);
    await seed();
    horizon = await startHorizon({ dir: join(root, 'horizon'), keystoneUrl: `${kumo.url}/identity/v3` });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await horizon?.stop();
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo.kill());
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function ok(method: string, path: string, body: unknown, user: User, expected: number[]): Promise<Json> {
    const result = await rest.call(method, path, body, { user });
    if (!expected.includes(result.status)) throw new Error(`${method} ${path} as ${user}: HTTP ${result.status} ${result.text}`);
    return result.json;
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** What the detail pages show: a public image, demo's server on `private` with a floating IP and an attached volume. */
  async function seed(): Promise<void> {
    const image = (await ok('POST', '/image/v2/images', { name: 'tiny', disk_format: 'qcow2', container_format: 'bare', visibility: 'public' }, 'admin', [201])) as Json;
    const upload = await fetch(`${kumo.url}/image/v2/images/${image.id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': await rest.token('admin'), 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(65_536, 7),
    });
    assert.equal(upload.status, 204, `image upload: ${await upload.text()}`);
    seeded.image = image.id as string;

    const networks = (await ok('GET', '/networking/v2.0/networks?name=private', undefined, 'demo', [200])).networks as Json[];
    const privateNet = networks[0]?.id as string;
    assert.ok(privateNet, 'Kumo made no `private` network for demo');
    await ok('POST', '/compute/v2.1/os-keypairs', { keypair: { name: 'demo-key' } }, 'demo', [200, 201]);
    const server = (await ok('POST', '/compute/v2.1/servers', { server: { name: 'vm1', imageRef: image.id, flavorRef: '42', networks: [{ uuid: privateNet }], key_name: 'demo-key' } }, 'demo', [202])).server as Json;
    seeded.server = server.id as string;
    await rest.waitStatus(seeded.server, 'ACTIVE', 60_000);

    const volume = (await ok('POST', '/volume/v3/volumes', { volume: { name: 'vol1', size: 1 } }, 'demo', [202])).volume as Json;
    seeded.volume = volume.id as string;
    await until('vol1 available', async () => {
      const shown = (await ok('GET', `/volume/v3/volumes/${volume.id}`, undefined, 'demo', [200])).volume as Json;
      return shown.status === 'available' ? shown : undefined;
    });
    await ok('POST', `/compute/v2.1/servers/${seeded.server}/os-volume_attachments`, { volumeAttachment: { volumeId: volume.id } }, 'demo', [200]);
    await until('vol1 in-use', async () => {
      const shown = (await ok('GET', `/volume/v3/volumes/${volume.id}`, undefined, 'demo', [200])).volume as Json;
      return shown.status === 'in-use' ? shown : undefined;
    });
    await ok('POST', '/volume/v3/snapshots', { snapshot: { name: 'vol1-snap', volume_id: volume.id, force: true } }, 'demo', [202]);

    const publicNet = ((await ok('GET', '/networking/v2.0/networks?name=public', undefined, 'demo', [200])).networks as Json[])[0]?.id as string;
    const port = ((await ok('GET', `/networking/v2.0/ports?device_id=${seeded.server}`, undefined, 'demo', [200])).ports as Json[])[0]?.id as string;
    assert.ok(publicNet && port, 'no public network or no port of vm1');
    await ok('POST', '/networking/v2.0/floatingips', { floatingip: { floating_network_id: publicNet, port_id: port } }, 'demo', [201]);
  }

  async function login(user: User): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    context.setDefaultTimeout(PAGE_TIMEOUT_MS);
    const page = await context.newPage();
    await page.goto(`${horizon.url}/auth/login/`);
    const credentials = JSON.parse(readFileSync(join(kumo.dataDir, 'bootstrap-credentials.json'), 'utf8'))[`${user}Password`] as string;
    await page.fill('#id_username', user);
    await page.fill('#id_password', credentials);
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/auth/login')), page.click('#loginBtn')]);
    return { context, page };
  }

  /**
   * Opens `url` (or, with `act`, does that on the current page) and reports what a user would
   * call an error: a 5xx from the dashboard for the page or any request it made, a red banner
   * or toast, "Unable to retrieve", Django's error page, or a bounce to the login page.
   */
  async function visit(page: Page, url: string | undefined, act?: () => Promise<void>): Promise<PageReport> {
    const problems: string[] = [];
    const onResponse = (response: { url(): string; status(): number; request(): { method(): string } }) => {
      if (response.url().startsWith(horizon.url) && response.status() >= 500) {
        problems.push(`HTTP ${response.status()} for ${response.request().method()} ${response.url().slice(horizon.url.length)}`);
      }
    };
    const onPageError = (error: Error) => problems.push(`script error: ${error.message}`);
    page.on('response', onResponse);
    page.on('pageerror', onPageError);
    try {
      if (url !== undefined) {
        const response = await page.goto(`${horizon.url}${url}`, { waitUntil: 'networkidle' });
        const status = response?.status() ?? 0;
        if (status >= 400) problems.push(`page answered HTTP ${status}`);
      }
      if (act) {
        await act();
        await page.waitForLoadState('networkidle');
      }
      const here = new URL(page.url());
      if (here.pathname.startsWith('/auth/login')) problems.push('bounced to the login page');
      const alerts = await page.locator('.alert-danger:visible, .alert-error:visible').allInnerTexts();
      for (const alert of alerts) problems.push(`error banner: ${alert.replace(/\s+/g, ' ').trim()}`);
      const text = await page.locator('body').innerText();
      for (const sign of ['Unable to retrieve', 'Traceback (most recent call last)', 'Server Error (500)', 'Something went wrong']) {
        if (text.includes(sign) && !alerts.some((alert) => alert.includes(sign))) problems.push(`page says "${sign}"`);
      }
    } catch (error) {
      problems.push(`could not be opened: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      page.off('response', onResponse);
      page.off('pageerror', onPageError);
    }
    return { url: url ?? page.url().slice(horizon.url.length), problems };
  }

  /** The sidebar's panel links of the dashboards under test, in its order. */
  async function panelLinks(page: Page): Promise<string[]> {
    const hrefs = await page.locator('#sidebar-accordion a[href]').evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
    return [...new Set(hrefs.filter((href) => DASHBOARDS.some((dashboard) => href.startsWith(dashboard))))];
  }

  /**
   * The first detail link of a panel's table: the name column links to `<panel>/<id>/...`
   * (Django panels) or `/ngdetails/...` (Angular ones); action buttons are not followed.
   */
  async function detailLink(page: Page, panel: string): Promise<string | undefined> {
    const hrefs = await page
      .locator('table tbody td:not(.actions_column) a[href]')
      .evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
    const id = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/;
    return hrefs.find((href) => (href.startsWith(panel) && href !== panel && id.test(href)) || href.startsWith('/ngdetails/'));
  }

  /** A detail page and each of its tabs: Django tabs by their `?tab=` links, Angular ones by a click. */
  async function visitDetail(page: Page, url: string, reports: PageReport[]): Promise<void> {
    reports.push(await visit(page, url));
    const tabs = await page.locator('.nav-tabs a').evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
    for (const [index, href] of tabs.entries()) {
      if (href.startsWith('?tab=')) {
        reports.push(await visit(page, `${url.split('?')[0]}${href}`));
      } else if (index > 0) {
        reports.push(await visit(page, undefined, () => page.locator('.nav-tabs a').nth(index).click()));
      }
    }
  }

  async function crawl(t: TestContext, user: User): Promise<Crawl> {
    const { context, page } = await login(user);
    try {
      const panels = await panelLinks(page);
      const reports: PageReport[] = [];
      for (const panel of panels) {
        reports.push(await visit(page, panel));
        const detail = await detailLink(page, panel);
        if (detail) await visitDetail(page, detail, reports);
      }
      reports.push(await visit(page, '/project/instances/', () => openLaunchWizard(page)));
      const problems = reports.flatMap((report) => report.problems.map((problem) => `${report.url}: ${problem}`));
      t.diagnostic(`${user}: ${reports.length} pages, ${panels.length} panels: ${panels.join(' ')}`);
      return { visited: reports.map((report) => report.url), problems };
    } finally {
      await context.close();
    }
  }

  /** The problems no KNOWN entry explains; each known one is reported as a diagnostic. */
  function unknown(t: TestContext, problems: string[]): string[] {
    for (const problem of problems) {
      const known = KNOWN.find((entry) => problem.includes(entry.sign));
      if (known) {
        seenKnown.add(known.sign);
        t.diagnostic(`known: ${problem} (${known.why})`);
      }
    }
    return problems.filter((problem) => !KNOWN.some((entry) => problem.includes(entry.sign)));
  }

  async function openLaunchWizard(page: Page): Promise<void> {
    await page.locator('#instances__action_launch-ng').click();
    await page.locator('.modal-dialog .wizard-nav').waitFor({ state: 'visible' });
  }

  async function screenshot(page: Page, name: string): Promise<string> {
    const path = join(OUTPUT_DIR, `horizon-${name}.png`);
    await page.screenshot({ path });
    return path;
  }

  it('demo opens every Project and Identity page with no error', STEP, async (t) => {
    const crawl_ = await crawl(t, 'demo');
    assert.ok(crawl_.visited.some((url) => url.startsWith('/project/instances/') && url.includes(seeded.server!)), `vm1's detail page was not visited: ${crawl_.visited.join(' ')}`);
    assert.ok(!crawl_.visited.some((url) => url.startsWith('/admin/')), 'demo was offered the Admin dashboard');
    assert.deepEqual(unknown(t, crawl_.problems), []);
  });

  it('admin opens every Project, Admin and Identity page with no error', STEP, async (t) => {
    const crawl_ = await crawl(t, 'admin');
    for (const dashboard of DASHBOARDS) assert.ok(crawl_.visited.some((url) => url.startsWith(dashboard)), `admin visited no ${dashboard} page`);
    assert.deepEqual(unknown(t, crawl_.problems), []);
  });

  it('screenshots: overview, instance detail, network topology, launch wizard', STEP, async (t) => {
    const { context, page } = await login('demo');
    try {
      const shots: string[] = [];
      const overview = await visit(page, '/project/');
      shots.push(await screenshot(page, 'overview'));
      const instance = await visit(page, `/project/instances/${seeded.server}/`);
      await page.getByText('vm1').first().waitFor();
      shots.push(await screenshot(page, 'instance-detail'));
      const topology = await visit(page, '/project/network_topology/');
      // The flat topology draws each network as a bar labelled with its name.
      await page.locator('svg text:visible', { hasText: 'private' }).first().waitFor();
      shots.push(await screenshot(page, 'network-topology'));
      const wizard = await visit(page, '/project/instances/', () => openLaunchWizard(page));
      shots.push(await screenshot(page, 'launch-wizard'));
      assert.deepEqual(unknown(t, [overview, instance, topology, wizard].flatMap((report) => report.problems.map((problem) => `${report.url}: ${problem}`))), []);
      t.diagnostic(`screenshots: ${shots.join(' ')}`);
      if (process.env.KUMO_SCREENSHOTS_TO_DOCS === '1') {
        mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
        for (const shot of shots) copyFileSync(shot, join(DOCS_SCREENSHOTS, shot.slice(OUTPUT_DIR.length + 1)));
      }
    } finally {
      await context.close();
    }
  });

  it('every known gap still shows (a closed one leaves KNOWN)', () => {
    const stale = KNOWN.filter((entry) => !seenKnown.has(entry.sign)).map((entry) => entry.sign);
    assert.deepEqual(stale, []);
  });

  it("Kumo answered none of Horizon's calls with a 5xx", (t) => {
    const failed: string[] = [];
    const refused = new Map<string, number>();
    for (const line of kumo.output().split('\n')) {
      if (!line.includes('"msg":"request"')) continue;
      const entry = JSON.parse(line) as { method: string; url: string; status: number };
      const call = `${entry.status} ${entry.method} ${entry.url.replace(/[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/g, '<id>')}`;
      if (entry.status >= 500) failed.push(call);
      else if (entry.status >= 400) refused.set(call, (refused.get(call) ?? 0) + 1);
    }
    // Some refusals are Horizon probing (an extension, a microversion, a thing that may not
    // exist): they are listed, not failed, so that a gap shows in the run's output.
    for (const [call, count] of refused) t.diagnostic(`Kumo refused ${call} (x${count})`);
    assert.deepEqual(failed, []);
  });
});
