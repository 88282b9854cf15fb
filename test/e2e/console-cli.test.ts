// `openstack console url show` against a real `kumo up`: the URL it prints opens noVNC's page,
// and the websocket that page would open answers with the guest's RFB handshake (a unix socket
// stands in for the fake guest's VNC server, as QEMU's `-vnc unix:` would serve it).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { cliSkip, OpenStackCli } from './helpers/openstack-cli.js';
import { FakeVncServer, openConsole, RFB_BANNER, websocketUrlOf } from '../services/console/helpers.js';

const DEMO = ['--os-cloud', 'kumo-demo'];
const SLOW = { timeout: 120_000 };

describe('consoles through the openstack CLI', { skip: cliSkip, timeout: 300_000 }, () => {
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;
  let vnc: FakeVncServer;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-console-'));
    const consoleDir = join(root, 'vnc');
    mkdirSync(consoleDir);
    kumo = await startKumo({ dataDir: join(root, 'data'), env: { KUMO_COMPUTE_DRIVER: 'fake', KUMO_FAKE_CONSOLE_DIR: consoleDir } });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
    const file = join(root, 'tiny.qcow2');
    writeFileSync(file, Buffer.alloc(4096, 7));
    await cli.ok(['--os-cloud', 'kumo-admin', 'image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', 'tiny']);
    const created = await cli.json([...DEMO, '--os-compute-api-version', '2.37', 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--nic', 'none', '--wait', 'vm1']);
    vnc = await FakeVncServer.listen(join(consoleDir, `${created.id}.vnc`));
  });

  after(async () => {
    if (cli) await cli.killAll();
    await vnc?.close();
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo.kill());
    if (root) rmSync(root, { recursive: true, force: true });
  });

  for (const version of ['2.1', '2.6']) {
    it(`prints a noVNC URL whose websocket answers the RFB handshake (compute API ${version})`, SLOW, async () => {
      const shown = await cli.json([...DEMO, '--os-compute-api-version', version, 'console', 'url', 'show', '--novnc', 'vm1']);
      assert.equal(shown.type, 'novnc');
      assert.match(shown.url, new RegExp(`^${kumo.url}/vnc/vnc_lite\\.html\\?path=vnc%2Fwebsockify%3Ftoken%3D[A-Za-z0-9_-]{43}$`));
      const page = await fetch(shown.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /noVNC/);
      const opened = await openConsole(websocketUrlOf(shown.url));
      assert.ok('ws' in opened, JSON.stringify(opened));
      assert.equal((await opened.inbox.bytes(RFB_BANNER.length)).toString(), RFB_BANNER);
      opened.ws.close();
    });
  }

  it('refuses console types Kumo does not proxy', SLOW, async () => {
    const serial = await cli.fails([...DEMO, 'console', 'url', 'show', '--serial', 'vm1']);
    assert.match(serial.stderr, /\b400\b/);
    assert.match(serial.stderr, /Unavailable console type serial\./);
  });
});
