// The noVNC console: the compute API hands out a URL on Kumo's own port, and the websocket
// it names answers with the guest's RFB handshake (here a unix socket standing in for
// QEMU's `-vnc unix:`), for a valid token only.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConsoleAuthTokens } from '../../../src/services/compute/console-tokens.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from '../compute/helpers.js';
import { raw } from '../metadata/helpers.js';
import { closed, FakeVncServer, openConsole, RFB_BANNER, websocketUrlOf, type Opened, type Refused } from './helpers.js';

const URL_SHAPE = /^(http:\/\/127\.0\.0\.1:\d+)\/vnc\/vnc_lite\.html\?path=vnc%2Fwebsockify%3Ftoken%3D([A-Za-z0-9_-]{43})$/;

function opened(result: Opened | Refused): Opened {
  assert.ok('ws' in result, `the upgrade was refused: ${'status' in result ? `${result.status} ${result.body}` : ''}`);
  return result;
}

function refused(result: Opened | Refused, status: number, key: string, message?: RegExp): void {
  if ('ws' in result) {
    result.ws.terminate();
    assert.fail(`the upgrade was accepted; expected ${status}`);
  }
  assert.equal(result.status, status, result.body);
  const body = JSON.parse(result.body);
  assert.equal(body[key]?.code, status, result.body);
  if (message) assert.match(body[key].message, message);
}

describe('VNC console proxy', () => {
  let cloud: TestCloud;
  let demo: string;
  let image: string;
  let consoleDir: string;
  let serverId: string;
  let vnc: FakeVncServer;

  before(async () => {
    consoleDir = mkdtempSync(join(tmpdir(), 'kumo-vnc-'));
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake', KUMO_FAKE_CONSOLE_DIR: consoleDir } });
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, await cloud.token('admin'));
    serverId = await bootActive('console-vm');
    vnc = await FakeVncServer.listen(join(consoleDir, `${serverId}.vnc`));
  });
  after(async () => {
    await vnc?.close();
    await cloud?.stop();
    rmSync(consoleDir, { recursive: true, force: true });
  });

  async function bootActive(name: string): Promise<string> {
    const created = await boot(cloud.url, demo, { name, imageRef: image, flavorRef: '42', networks: 'none' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    await waitForServer(cloud.url, demo, created.json.server.id, ['ACTIVE']);
    return created.json.server.id as string;
  }

  async function consoleUrl(id = serverId): Promise<string> {
    const answer = await nova(cloud.url, 'POST', `/servers/${id}/remote-consoles`, demo, { remote_console: { protocol: 'vnc', type: 'novnc' } }, '2.6');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.json.remote_console.url as string;
  }

  it('answers remote-consoles and os-getVNCConsole with a noVNC URL on its own port', async () => {
    const answer = await nova(cloud.url, 'POST', `/servers/${serverId}/remote-consoles`, demo, { remote_console: { protocol: 'vnc', type: 'novnc' } }, '2.6');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(Object.keys(answer.json.remote_console).sort(), ['protocol', 'type', 'url']);
    assert.equal(answer.json.remote_console.protocol, 'vnc');
    assert.equal(answer.json.remote_console.type, 'novnc');
    const match = URL_SHAPE.exec(answer.json.remote_console.url);
    assert.ok(match, answer.json.remote_console.url);
    assert.equal(match[1], cloud.url);

    const legacy = await nova(cloud.url, 'POST', `/servers/${serverId}/action`, demo, { 'os-getVNCConsole': { type: 'novnc' } });
    assert.equal(legacy.status, 200, JSON.stringify(legacy.body));
    assert.deepEqual(Object.keys(legacy.json.console).sort(), ['type', 'url']);
    assert.equal(legacy.json.console.type, 'novnc');
    const again = URL_SHAPE.exec(legacy.json.console.url);
    assert.ok(again, legacy.json.console.url);
    assert.notEqual(again[2], match[2], 'every URL has a token of its own');
  });

  it('joins the websocket to the console: the RFB handshake arrives and bytes go both ways', async () => {
    const url = await consoleUrl();
    const { ws, inbox } = opened(await openConsole(websocketUrlOf(url)));
    assert.equal(ws.protocol, 'binary', 'the binary subprotocol noVNC and Tempest ask for');
    assert.equal((await inbox.bytes(RFB_BANNER.length)).toString(), RFB_BANNER);
    ws.send(Buffer.from(RFB_BANNER));
    assert.equal((await inbox.bytes(RFB_BANNER.length)).toString(), RFB_BANNER, 'the echo of what the client sent');
    assert.equal(Buffer.concat(vnc.received).toString(), RFB_BANNER, 'the console received the client\'s bytes');
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    ws.send(big);
    assert.ok((await inbox.bytes(big.length)).equals(big), 'larger binary data arrives intact, in order');

    // The client leaving closes the console connection.
    const before = vnc.clients.size;
    ws.close();
    await closed(ws);
    for (let i = 0; i < 100 && vnc.clients.size >= before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(vnc.clients.size, before - 1, 'the proxy closed its side');

    // The token stays good until it expires (noVNC reconnects with it); the console going away closes the websocket.
    const second = opened(await openConsole(websocketUrlOf(url), {}, []));
    assert.equal(second.ws.protocol, '', 'no subprotocol when none is asked for (noVNC 1.x)');
    assert.equal((await second.inbox.bytes(RFB_BANNER.length)).toString(), RFB_BANNER);
    vnc.dropClients();
    assert.equal(await closed(second.ws), 1000);
  });

  it('refuses missing, unknown, expired and foreign tokens before any upgrade', async () => {
    const url = websocketUrlOf(await consoleUrl());
    const base = url.slice(0, url.indexOf('?'));
    refused(await openConsole(base), 401, 'unauthorized', /token is required/);
    refused(await openConsole(`${base}?token=`), 401, 'unauthorized');
    refused(await openConsole(`${base}?token=nope`), 401, 'unauthorized', /invalid or has expired/);
    refused(await openConsole(`${base}?token=${'A'.repeat(43)}`), 401, 'unauthorized', /invalid or has expired/);
    refused(await openConsole(url, { origin: 'http://evil.example' }), 403, 'forbidden', /Origin/);
    // The cookie older noVNC pages use carries the token just as well.
    const token = new URL(url).searchParams.get('token') as string;
    const byCookie = opened(await openConsole(base, { cookie: `other=1; token=${token}`, origin: new URL(url.replace('ws:', 'http:')).origin }));
    assert.equal((await byCookie.inbox.bytes(RFB_BANNER.length)).toString(), RFB_BANNER);
    byCookie.ws.close();

    const tokens = new ConsoleAuthTokens(cloud.cloud.compute.db);
    const host = (await cloud.cloud.compute.db.selectFrom('compute_instance').select('host').where('id', '=', serverId).executeTakeFirstOrThrow()).host as string;
    const grant = { instanceId: serverId, consoleType: 'novnc', endpoint: { unixSocket: vnc.path }, computeHost: host };
    const expired = await tokens.issue(grant, 600, new Date(Date.now() - 601_000));
    refused(await openConsole(`${base}?token=${expired}`), 401, 'unauthorized', /invalid or has expired/);
    const elsewhere = await tokens.issue({ ...grant, computeHost: 'another-host' }, 600);
    refused(await openConsole(`${base}?token=${elsewhere}`), 404, 'itemNotFound', new RegExp(serverId));
  });

  it('closes the websocket when the console cannot be reached, and refuses text frames', async () => {
    const lonely = await bootActive('no-screen-yet');
    const path = join(consoleDir, `${lonely}.vnc`);
    const stand = await FakeVncServer.listen(path);
    const url = websocketUrlOf(await consoleUrl(lonely));
    await stand.close();
    const gone = opened(await openConsole(url));
    assert.equal(await closed(gone.ws), 1011, 'the console socket is gone: internal error close');

    const again = await FakeVncServer.listen(path);
    try {
      const { ws, inbox } = opened(await openConsole(url));
      await inbox.bytes(RFB_BANNER.length);
      ws.send('text, not RFB');
      assert.equal(await closed(ws), 1003);
    } finally {
      await again.close();
    }
  });

  it('refuses a token once its instance is deleted', async () => {
    const doomed = await bootActive('doomed');
    const stand = await FakeVncServer.listen(join(consoleDir, `${doomed}.vnc`));
    try {
      const url = websocketUrlOf(await consoleUrl(doomed));
      assert.equal((await nova(cloud.url, 'DELETE', `/servers/${doomed}`, demo)).status, 204);
      await waitForServer(cloud.url, demo, doomed, ['DELETED']);
      refused(await openConsole(url), 404, 'itemNotFound');
      refused(await openConsole(url), 401, 'unauthorized', /invalid or has expired/);
    } finally {
      await stand.close();
    }
  });

  it('keeps the API\'s 4xx for bad requests, other console types and servers not ready', async () => {
    const remote = (body: unknown, id = serverId) => nova(cloud.url, 'POST', `/servers/${id}/remote-consoles`, demo, body, '2.6');
    const act = (body: unknown, id = serverId) => nova(cloud.url, 'POST', `/servers/${id}/action`, demo, body);
    const expect = async (answer: Promise<{ status: number; json: Record<string, any> }>, status: number, key: string, message?: RegExp) => {
      const got = await answer;
      assert.equal(got.status, status, JSON.stringify(got.json));
      if (message) assert.match(got.json[key].message, message);
    };
    await expect(remote({ remote_console: { protocol: 'magic', type: 'novnc' } }), 400, 'badRequest', /protocol/);
    await expect(remote({ remote_console: { protocol: 'rdp', type: 'novnc' } }), 400, 'badRequest', /type/);
    await expect(remote({ remote_console: { protocol: 'rdp', type: 'rdp-html5' } }), 400, 'badRequest', /Unavailable console type rdp-html5\./);
    await expect(remote({ remote_console: { protocol: 'vnc', type: 'magic' } }), 400, 'badRequest', /type/);
    await expect(remote({}), 400, 'badRequest');
    await expect(remote({ remote_console: { protocol: 'serial', type: 'serial' } }), 400, 'badRequest', /Unavailable console type serial\./);
    await expect(remote({ remote_console: { protocol: 'spice', type: 'spice-html5' } }), 400, 'badRequest', /Unavailable console type spice-html5\./);
    await expect(remote({ remote_console: { protocol: 'vnc', type: 'xvpvnc' } }), 400, 'badRequest', /Unavailable console type xvpvnc\./);
    await expect(act({ 'os-getVNCConsole': { type: 'magic' } }), 400, 'badRequest');
    await expect(act({ 'os-getSerialConsole': { type: 'serial' } }), 400, 'badRequest', /Unavailable console type serial\./);
    // Horizon's console tab tries every kind in turn: each is an action that exists, with no console behind it.
    await expect(act({ 'os-getSPICEConsole': { type: 'spice-html5' } }), 400, 'badRequest', /Unavailable console type spice-html5\./);
    await expect(act({ 'os-getRDPConsole': { type: 'rdp-html5' } }), 400, 'badRequest', /Unavailable console type rdp-html5\./);
    await expect(act({ 'os-getMKSConsole': { type: 'webmks' } }), 400, 'badRequest', /There is no such action/);
    const mks = await nova(cloud.url, 'POST', `/servers/${serverId}/action`, demo, { 'os-getMKSConsole': { type: 'webmks' } }, '2.8');
    assert.equal(mks.status, 400, JSON.stringify(mks.json));
    assert.match(mks.json.badRequest.message, /Unavailable console type webmks\./);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${serverId}/remote-consoles`, demo, { remote_console: { protocol: 'vnc', type: 'novnc' } })).status, 404, 'not before 2.6');

    // A guest with no VNC server (the fake without a socket) has no console to offer.
    const blind = await bootActive('blind');
    await expect(remote({ remote_console: { protocol: 'vnc', type: 'novnc' } }, blind), 400, 'badRequest', /Unavailable console type novnc\./);
    assert.equal((await act({ 'os-stop': null }, blind)).status, 202);
    await waitForServer(cloud.url, demo, blind, ['SHUTOFF']);
    await expect(remote({ remote_console: { protocol: 'vnc', type: 'novnc' } }, blind), 409, 'conflictingRequest', /is not ready/);
    await expect(act({ 'os-getVNCConsole': { type: 'novnc' } }, blind), 409, 'conflictingRequest', /is not ready/);
  });

  it('serves noVNC\'s page and library read-only, and nothing outside them', async () => {
    const page = await fetch(`${cloud.url}/vnc/vnc_lite.html?path=whatever`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    for (const part of [/<html.*>/, /<\/html>/, /noVNC/, /<script/, /import RFB from '\.\/core\/rfb\.js'/]) assert.match(html, part);
    const rfb = await fetch(`${cloud.url}/vnc/core/rfb.js`);
    assert.equal(rfb.status, 200);
    assert.match(rfb.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await rfb.text(), /export default class RFB/);
    // Every module the page imports, directly or not, is served: the browser can load all of noVNC.
    const pending = [new URL('core/rfb.js', `${cloud.url}/vnc/vnc_lite.html`).href];
    const loaded = new Set<string>();
    while (pending.length > 0) {
      const url = pending.pop() as string;
      if (loaded.has(url)) continue;
      const module = await fetch(url);
      assert.equal(module.status, 200, url);
      loaded.add(url);
      for (const [, specifier] of (await module.text()).matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/gm)) {
        assert.match(specifier as string, /^\.\.?\//, `${url} imports ${specifier} relatively`);
        pending.push(new URL(specifier as string, url).href);
      }
    }
    assert.ok(loaded.size > 30, `${loaded.size} modules`);
    assert.ok([...loaded].every((u) => u.startsWith(`${cloud.url}/vnc/`)));

    const target = { url: cloud.url };
    for (const path of [
      '/vnc/core/../package.json',
      '/vnc/core/%2e%2e/package.json',
      '/vnc/core/%2E%2E/%2E%2E/%2E%2E/package.json',
      '/vnc/..%2fpackage.json',
      '/vnc/core/..%2f..%2f..%2f..%2fpackage.json',
      '/vnc/package.json',
      '/vnc/README.md',
      '/vnc/vendor/pako/LICENSE',
      '/vnc/core/',
      '/vnc/core',
      '/vnc/',
      '/vnc/core/rfb.js%00',
      '/vnc/core//rfb.js',
      '/vnc/core/./rfb.js',
      '/vnc/docs/API.md',
    ]) {
      const answer = await raw(target, path);
      assert.ok(answer.status === 404 || answer.status === 400, `${path}: ${answer.status}`);
      assert.doesNotMatch(answer.body, /"name": "@novnc\/novnc"|export default/, path);
    }
    for (const method of ['PUT', 'POST', 'DELETE']) {
      const answer = await raw(target, '/vnc/core/rfb.js', {}, method, '');
      assert.ok(answer.status === 404 || answer.status === 405, `${method}: ${answer.status}`);
    }
    // A plain GET of the websocket's path is not a console: refused without a token, not found with one.
    assert.equal((await raw(target, '/vnc/websockify')).status, 401);
    const token = new URL(websocketUrlOf(await consoleUrl())).searchParams.get('token') as string;
    assert.equal((await raw(target, `/vnc/websockify?token=${token}`)).status, 404);
  });

  it('answers upgrade requests to other paths and leaves no socket behind at shutdown', { timeout: 30_000 }, async () => {
    const other = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    try {
      const ws = other.url.replace(/^http/, 'ws');
      const nowhere = await openConsole(`${ws}/nowhere`);
      assert.equal('status' in nowhere && nowhere.status, 404);
      refused(await openConsole(`${ws}/identity/v3/auth/tokens`), 401, 'error');
      const served = opened(await openConsole(`${ws}/compute/v2.1/`));
      assert.equal(await closed(served.ws), 1005, 'a route without a websocket closes the upgraded connection at once');
    } finally {
      // Hangs (and times the test out) if an upgraded socket lingers half-open.
      await other.stop();
    }
  });
});
