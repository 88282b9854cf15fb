// Glance's metadata definitions over raw HTTP: default namespaces loaded from a directory
// (once, whatever the restarts), visibility, admin-only writes, protection, the objects,
// properties, tags and resource type associations, the resource_type prefixes Horizon's
// "Update Metadata" dialog reads, and python-glanceclient driving it all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertGlanceError, glance } from './helpers.js';

const run = promisify(execFile);
const GLANCE_CLI = '/usr/bin/glance';
const NS = '/v2/metadefs/namespaces';

/** Two namespace files in Glance's own format, and one that is not a namespace. */
function writeDefinitions(dir: string): void {
  writeFileSync(
    join(dir, 'kumo-watchdog.json'),
    JSON.stringify({
      namespace: 'KUMO::Watchdog',
      display_name: 'Watchdog Behavior',
      description: 'What the hypervisor does when the guest hangs.',
      visibility: 'public',
      protected: true,
      resource_type_associations: [
        { name: 'OS::Glance::Image', prefix: 'hw_' },
        { name: 'OS::Nova::Flavor', prefix: 'hw:' },
      ],
      properties: { watchdog_action: { title: 'Watchdog Action', type: 'string', enum: ['disabled', 'reset', 'poweroff', 'pause', 'none'] } },
      objects: [
        {
          name: 'Topology',
          description: 'CPU layout',
          required: ['cpu_sockets'],
          properties: { cpu_sockets: { title: 'Sockets', type: 'integer', minimum: 1 } },
        },
      ],
    }),
  );
  writeFileSync(
    join(dir, 'kumo-software.json'),
    JSON.stringify({
      namespace: 'KUMO::Software',
      display_name: 'Software',
      visibility: 'public',
      protected: false,
      resource_type_associations: [{ name: 'OS::Cinder::Volume', properties_target: 'image' }],
      properties: { sw_runtime: { title: 'Runtime', type: 'string' } },
    }),
  );
  writeFileSync(join(dir, 'broken.json'), '{"namespace": ');
}

describe('image API: metadata definitions', () => {
  let root: string;
  let definitions: string;
  let tc: TestCloud;
  let url: string;
  let admin: string;
  let demo: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-metadefs-'));
    definitions = join(root, 'metadefs');
    mkdirSync(definitions);
    writeDefinitions(definitions);
    tc = await startTestCloud({ dataDir: join(root, 'data'), env: { KUMO_IMAGE_METADEFS_DIR: definitions } });
    url = tc.url;
    admin = await tc.token('admin');
    demo = await tc.token('demo');
  });

  after(async () => {
    await tc?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const names = (body: Record<string, any>) => (body.namespaces as Array<{ namespace: string }>).map((n) => n.namespace).sort();

  describe('default namespaces', () => {
    it('loads every namespace file of the directory, refusing the broken one', async () => {
      const res = await glance(url, 'GET', NS, demo);
      assert.equal(res.status, 200);
      assert.deepEqual(names(res.json), ['KUMO::Software', 'KUMO::Watchdog']);
      assert.equal(res.json.schema, '/v2/schemas/metadefs/namespaces');
      const watchdog = (res.json.namespaces as Array<Record<string, any>>).find((n) => n.namespace === 'KUMO::Watchdog');
      assert.equal(watchdog?.owner, 'admin');
      assert.equal(watchdog?.protected, true);
      assert.deepEqual(
        (watchdog?.resource_type_associations as Array<Record<string, unknown>>).map((a) => [a.name, a.prefix]),
        [['OS::Glance::Image', 'hw_'], ['OS::Nova::Flavor', 'hw:']],
      );
      assert.equal('properties' in (watchdog ?? {}), false, 'a list does not carry the contents');
    });

    it('loads once: a restart keeps what an admin changed and adds nothing twice', async () => {
      const changed = await glance(url, 'PUT', `${NS}/KUMO::Software`, admin, { namespace: 'KUMO::Software', display_name: 'Changed', visibility: 'public' });
      assert.equal(changed.status, 200, JSON.stringify(changed.json));
      await tc.stop();
      tc = await startTestCloud({ dataDir: join(root, 'data'), env: { KUMO_IMAGE_METADEFS_DIR: definitions } });
      url = tc.url;
      admin = await tc.token('admin');
      demo = await tc.token('demo');
      const res = await glance(url, 'GET', NS, demo);
      assert.deepEqual(names(res.json), ['KUMO::Software', 'KUMO::Watchdog']);
      const software = await glance(url, 'GET', `${NS}/KUMO::Software`, demo);
      assert.equal(software.json.display_name, 'Changed');
      const types = await glance(url, 'GET', '/v2/metadefs/resource_types', demo);
      assert.deepEqual(
        (types.json.resource_types as Array<{ name: string }>).map((t) => t.name),
        ['OS::Cinder::Volume', 'OS::Glance::Image', 'OS::Nova::Flavor'],
      );
    });

    it('filters by resource type, as Horizon asks for an image\'s namespaces', async () => {
      const image = await glance(url, 'GET', `${NS}?resource_types=OS::Glance::Image`, demo);
      assert.deepEqual(names(image.json), ['KUMO::Watchdog']);
      const either = await glance(url, 'GET', `${NS}?resource_types=OS::Glance::Image,OS::Cinder::Volume`, demo);
      assert.deepEqual(names(either.json), ['KUMO::Software', 'KUMO::Watchdog']);
      const none = await glance(url, 'GET', `${NS}?resource_types=OS::Nothing`, demo);
      assert.deepEqual(names(none.json), []);
    });

    it('shows a namespace whole, and with resource_type its names carry that type\'s prefix', async () => {
      const plain = await glance(url, 'GET', `${NS}/KUMO::Watchdog`, demo);
      assert.equal(plain.status, 200);
      assert.deepEqual(Object.keys(plain.json.properties), ['watchdog_action']);
      assert.equal(plain.json.objects[0].name, 'Topology');
      const forImage = await glance(url, 'GET', `${NS}/KUMO::Watchdog?resource_type=OS::Glance::Image`, demo);
      assert.deepEqual(Object.keys(forImage.json.properties), ['hw_watchdog_action']);
      assert.deepEqual(Object.keys(forImage.json.objects[0].properties), ['hw_cpu_sockets']);
      assert.deepEqual(forImage.json.objects[0].required, ['hw_cpu_sockets']);
      const forFlavor = await glance(url, 'GET', `${NS}/KUMO::Watchdog?resource_type=OS::Nova::Flavor`, demo);
      assert.deepEqual(Object.keys(forFlavor.json.properties), ['hw:watchdog_action']);
      const property = await glance(url, 'GET', `${NS}/KUMO::Watchdog/properties/hw_watchdog_action?resource_type=OS::Glance::Image`, demo);
      assert.equal(property.status, 200);
      assert.equal(property.json.name, 'watchdog_action');
    });

    it('pages with limit and marker, and a next link', async () => {
      const first = await glance(url, 'GET', `${NS}?limit=1&sort_key=namespace&sort_dir=asc`, demo);
      assert.deepEqual(names(first.json), ['KUMO::Software']);
      assert.match(String(first.json.next), /marker=KUMO%3A%3ASoftware/);
      const second = await glance(url, 'GET', String(first.json.next), demo);
      assert.deepEqual(names(second.json), ['KUMO::Watchdog']);
      assert.equal(second.json.next, undefined);
    });
  });

  describe('rules', () => {
    it('a member may not create, change or delete a namespace (403), and nothing changes', async () => {
      assertGlanceError(await glance(url, 'POST', NS, demo, { namespace: 'demo-ns' }), 403);
      assertGlanceError(await glance(url, 'PUT', `${NS}/KUMO::Software`, demo, { namespace: 'KUMO::Software' }), 403);
      assertGlanceError(await glance(url, 'DELETE', `${NS}/KUMO::Software`, demo), 403);
      assertGlanceError(await glance(url, 'POST', `${NS}/KUMO::Software/properties`, demo, { name: 'x', title: 'X', type: 'string' }), 403);
      assertGlanceError(await glance(url, 'POST', `${NS}/KUMO::Software/tags/t`, demo), 403);
      assertGlanceError(await glance(url, 'POST', `${NS}/KUMO::Software/resource_types`, demo, { name: 'OS::Nova::Server' }), 403);
      assertGlanceError(await glance(url, 'GET', `${NS}/demo-ns`, admin), 404);
      assert.equal((await glance(url, 'GET', `${NS}/KUMO::Software/properties/x`, admin)).status, 404);
    });

    it('a private namespace is seen only by its project (and admins); to others it does not exist', async () => {
      const created = await glance(url, 'POST', NS, admin, { namespace: 'admin-private', visibility: 'private', tags: [{ name: 'secret' }] });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      assert.equal(created.headers.get('location'), `${NS}/admin-private`);
      try {
        assertGlanceError(await glance(url, 'GET', `${NS}/admin-private`, demo), 404);
        assertGlanceError(await glance(url, 'GET', `${NS}/admin-private/tags`, demo), 404);
        assert.equal(names((await glance(url, 'GET', NS, demo)).json).includes('admin-private'), false);
        assert.equal(names((await glance(url, 'GET', `${NS}?visibility=private`, admin)).json).includes('admin-private'), true);
      } finally {
        assert.equal((await glance(url, 'DELETE', `${NS}/admin-private`, admin)).status, 204);
      }
    });

    it('a protected namespace and what is in it cannot be deleted (403)', async () => {
      assertGlanceError(await glance(url, 'DELETE', `${NS}/KUMO::Watchdog`, admin), 403, /protected/);
      assertGlanceError(await glance(url, 'DELETE', `${NS}/KUMO::Watchdog/properties/watchdog_action`, admin), 403, /protected/);
      assertGlanceError(await glance(url, 'DELETE', `${NS}/KUMO::Watchdog/objects/Topology`, admin), 403, /protected/);
      assertGlanceError(await glance(url, 'DELETE', `${NS}/KUMO::Watchdog/resource_types/OS::Glance::Image`, admin), 403, /protected/);
      assertGlanceError(await glance(url, 'DELETE', `${NS}/KUMO::Watchdog/properties`, admin), 403, /protected/);
      assert.equal((await glance(url, 'GET', `${NS}/KUMO::Watchdog/properties/watchdog_action`, admin)).status, 200);
    });

    it('refuses read-only attributes (403), unknown ones, bad types and duplicates', async () => {
      assertGlanceError(await glance(url, 'POST', NS, admin, { namespace: 'x', created_at: 'now' }), 403, /read-only/);
      assertGlanceError(await glance(url, 'POST', NS, admin, { namespace: 'x', colour: 'red' }), 400, /colour/);
      assertGlanceError(await glance(url, 'POST', NS, admin, { namespace: 'x', visibility: 'shared' }), 400);
      assertGlanceError(await glance(url, 'POST', NS, admin, { namespace: 'x', protected: 'yes' }), 400);
      assertGlanceError(await glance(url, 'POST', NS, admin, { namespace: 'x'.repeat(81) }), 400);
      assertGlanceError(await glance(url, 'POST', NS, admin, { display_name: 'no namespace' }), 400);
      assertGlanceError(await glance(url, 'POST', NS, admin, { namespace: 'x', properties: { p: { title: 'P', type: 'colour' } } }), 400);
      assertGlanceError(await glance(url, 'POST', NS, admin, { namespace: 'x', properties: { p: { type: 'string' } } }), 400);
      assertGlanceError(await glance(url, 'POST', NS, admin, [1, 2]), 400);
      assertGlanceError(await glance(url, 'POST', NS, admin, { namespace: 'KUMO::Software' }), 409);
      assertGlanceError(await glance(url, 'GET', `${NS}?visibility=shared`, admin), 400);
      assertGlanceError(await glance(url, 'GET', `${NS}?sort_dir=up`, admin), 400);
      assertGlanceError(await glance(url, 'GET', `${NS}?limit=-1`, admin), 400);
      assertGlanceError(await glance(url, 'GET', `${NS}/x`, admin), 404, /was not found/);
      assert.equal((await glance(url, 'GET', `${NS}/x`, admin)).status, 404, 'nothing half-made by the refused requests');
    });
  });

  describe('contents', () => {
    const base = `${NS}/kumo-contents`;
    before(async () => {
      const created = await glance(url, 'POST', NS, admin, {
        namespace: 'kumo-contents',
        visibility: 'public',
        resource_type_associations: [{ name: 'OS::Nova::Server', prefix: 'srv_' }],
        properties: { speed: { title: 'Speed', type: 'integer', minimum: 0 } },
        objects: [{ name: 'Box', properties: { width: { title: 'Width', type: 'number' } } }],
        tags: [{ name: 'one' }],
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      assert.deepEqual(Object.keys(created.json.properties), ['speed']);
    });

    it('properties: create, show, list, update (rename), delete', async () => {
      const made = await glance(url, 'POST', `${base}/properties`, admin, { name: 'colour', title: 'Colour', type: 'string', enum: ['red', 'blue'] });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      assert.deepEqual(made.json, { name: 'colour', title: 'Colour', type: 'string', enum: ['red', 'blue'] });
      assertGlanceError(await glance(url, 'POST', `${base}/properties`, admin, { name: 'colour', title: 'C', type: 'string' }), 409);
      assertGlanceError(await glance(url, 'POST', `${base}/properties`, admin, { name: 'p', title: 'P', type: 'string', colour: 1 }), 400);
      const list = await glance(url, 'GET', `${base}/properties`, demo);
      assert.deepEqual(Object.keys(list.json.properties).sort(), ['colour', 'speed']);
      const renamed = await glance(url, 'PUT', `${base}/properties/colour`, admin, { name: 'color', title: 'Color', type: 'string' });
      assert.equal(renamed.status, 200);
      assert.equal((await glance(url, 'GET', `${base}/properties/colour`, demo)).status, 404);
      assert.equal((await glance(url, 'GET', `${base}/properties/color`, demo)).json.title, 'Color');
      assert.equal((await glance(url, 'DELETE', `${base}/properties/color`, admin)).status, 204);
      assertGlanceError(await glance(url, 'DELETE', `${base}/properties/color`, admin), 404);
    });

    it('objects: create, show, list, update, delete', async () => {
      const made = await glance(url, 'POST', `${base}/objects`, admin, { name: 'Crate', description: 'wooden', required: ['depth'], properties: { depth: { title: 'Depth', type: 'integer' } } });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      assert.equal(made.json.self, `${base}/objects/Crate`);
      assert.equal(made.json.schema, '/v2/schemas/metadefs/object');
      assertGlanceError(await glance(url, 'POST', `${base}/objects`, admin, { name: 'Crate' }), 409);
      const list = await glance(url, 'GET', `${base}/objects`, demo);
      assert.deepEqual((list.json.objects as Array<{ name: string }>).map((o) => o.name), ['Box', 'Crate']);
      const prefixed = await glance(url, 'GET', `${base}/objects/Crate?resource_type=OS::Nova::Server`, demo);
      assert.deepEqual(prefixed.json.required, ['srv_depth']);
      const updated = await glance(url, 'PUT', `${base}/objects/Crate`, admin, { name: 'Crate', description: 'metal' });
      assert.equal(updated.json.description, 'metal');
      assert.deepEqual(updated.json.properties, {});
      assert.equal((await glance(url, 'DELETE', `${base}/objects/Crate`, admin)).status, 204);
      assert.equal((await glance(url, 'GET', `${base}/objects/Crate`, demo)).status, 404);
    });

    it('tags: one at a time, replaced all at once, appended, deleted', async () => {
      assert.equal((await glance(url, 'POST', `${base}/tags/two`, admin)).status, 201);
      assertGlanceError(await glance(url, 'POST', `${base}/tags/two`, admin), 409);
      const tagNames = async () => ((await glance(url, 'GET', `${base}/tags`, demo)).json.tags as Array<{ name: string }>).map((t) => t.name);
      assert.deepEqual(await tagNames(), ['one', 'two']);
      const replaced = await glance(url, 'POST', `${base}/tags`, admin, { tags: [{ name: 'x' }, { name: 'y' }] });
      assert.equal(replaced.status, 201);
      assert.deepEqual(await tagNames(), ['x', 'y']);
      assert.equal((await glance(url, 'POST', `${base}/tags`, admin, { tags: [{ name: 'z' }] }, { 'x-openstack-append': 'true' })).status, 201);
      assert.deepEqual(await tagNames(), ['x', 'y', 'z']);
      assertGlanceError(await glance(url, 'POST', `${base}/tags`, admin, { tags: [{ name: 'q' }, { name: 'q' }] }), 409);
      assert.deepEqual(await tagNames(), ['x', 'y', 'z'], 'a refused replacement leaves the tags as they were');
      assert.equal((await glance(url, 'PUT', `${base}/tags/x`, admin, { name: 'w' })).status, 200);
      assert.equal((await glance(url, 'DELETE', `${base}/tags/y`, admin)).status, 204);
      assert.deepEqual(await tagNames(), ['w', 'z']);
      assert.equal((await glance(url, 'DELETE', `${base}/tags`, admin)).status, 204);
      assert.deepEqual(await tagNames(), []);
    });

    it('resource type associations: add, list, remove; a new type joins the list', async () => {
      const added = await glance(url, 'POST', `${base}/resource_types`, admin, { name: 'KUMO::Thing', prefix: 'thing_' });
      assert.equal(added.status, 201, JSON.stringify(added.json));
      assertGlanceError(await glance(url, 'POST', `${base}/resource_types`, admin, { name: 'KUMO::Thing' }), 409);
      const list = await glance(url, 'GET', `${base}/resource_types`, demo);
      assert.deepEqual((list.json.resource_type_associations as Array<{ name: string }>).map((a) => a.name), ['KUMO::Thing', 'OS::Nova::Server']);
      const types = await glance(url, 'GET', '/v2/metadefs/resource_types', demo);
      assert.ok((types.json.resource_types as Array<{ name: string }>).some((t) => t.name === 'KUMO::Thing'));
      assert.equal((await glance(url, 'DELETE', `${base}/resource_types/KUMO::Thing`, admin)).status, 204);
      assertGlanceError(await glance(url, 'DELETE', `${base}/resource_types/KUMO::Thing`, admin), 404);
    });

    it('renaming a namespace takes its contents along; deleting it takes them away', async () => {
      const renamed = await glance(url, 'PUT', base, admin, { namespace: 'kumo-renamed', visibility: 'public' });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.json));
      const shown = await glance(url, 'GET', `${NS}/kumo-renamed`, demo);
      assert.deepEqual(Object.keys(shown.json.properties), ['speed']);
      assert.equal((await glance(url, 'DELETE', `${NS}/kumo-renamed`, admin)).status, 204);
      assert.equal((await glance(url, 'GET', `${NS}/kumo-renamed/properties`, admin)).status, 404);
      const recreated = await glance(url, 'POST', NS, admin, { namespace: 'kumo-renamed' });
      assert.equal(recreated.status, 201);
      assert.equal('properties' in recreated.json, false, 'nothing of the deleted namespace came back');
      await glance(url, 'DELETE', `${NS}/kumo-renamed`, admin);
    });
  });

  describe('schemas', () => {
    it('serves every metadefs schema, closed as Glance\'s are', async () => {
      for (const kind of ['namespace', 'namespaces', 'object', 'objects', 'property', 'properties', 'tag', 'tags', 'resource_type', 'resource_types']) {
        const res = await glance(url, 'GET', `/v2/schemas/metadefs/${kind}`, demo);
        assert.equal(res.status, 200, kind);
        assert.equal(typeof res.json.name, 'string', kind);
      }
      const namespace = await glance(url, 'GET', '/v2/schemas/metadefs/namespace', demo);
      assert.equal(namespace.json.additionalProperties, false);
      assert.deepEqual(namespace.json.required, ['namespace']);
      assert.equal((await glance(url, 'GET', '/v2/schemas/metadefs/nothing', demo)).status, 404);
      assert.equal((await glance(url, 'GET', '/v2/schemas/metadefs/constructor', demo)).status, 404);
    });
  });

  describe('python-glanceclient', { skip: existsSync(GLANCE_CLI) ? false : 'python3-glanceclient is not installed' }, () => {
    const glanceCli = async (...args: string[]) => {
      const auth = [
        '--os-auth-url', `${url}/identity/v3`, '--os-username', 'admin', '--os-password', ADMIN_PASSWORD,
        '--os-project-name', 'admin', '--os-user-domain-id', 'default', '--os-project-domain-id', 'default',
      ];
      return (await run(GLANCE_CLI, [...auth, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root } })).stdout;
    };

    it('lists, shows (validating against our schemas), creates and deletes', async () => {
      const list = await glanceCli('md-namespace-list', '--resource-types', 'OS::Glance::Image');
      assert.match(list, /KUMO::Watchdog/);
      assert.doesNotMatch(list, /KUMO::Software/);
      const shown = await glanceCli('md-namespace-show', 'KUMO::Watchdog', '--resource-type', 'OS::Glance::Image');
      assert.match(shown, /hw_watchdog_action/);
      await glanceCli('md-namespace-create', 'kumo-cli-ns', '--visibility', 'public');
      await glanceCli('md-property-create', 'kumo-cli-ns', '--name', 'p1', '--title', 'P1', '--schema', '{"type": "string", "title": "P1"}');
      await glanceCli('md-tag-create-multiple', 'kumo-cli-ns', '--names', 'a,b');
      const full = await glanceCli('md-namespace-show', 'kumo-cli-ns');
      assert.match(full, /"p1"/);
      assert.match(full, /"a", "b"/);
      await glanceCli('md-namespace-delete', 'kumo-cli-ns');
      assert.equal((await glance(url, 'GET', `${NS}/kumo-cli-ns`, admin)).status, 404);
    });
  });
});

/** Glance's files: where KUMO_IMAGE_METADEFS_DIR says (.ci/run extracts glance-common there), or where glance-common installs them. */
const glanceDefinitions = [process.env.KUMO_IMAGE_METADEFS_DIR, '/etc/glance/metadefs', '/usr/share/glance-common/metadefs'].find((d) => d && existsSync(d));

describe('image API: Glance\'s own default namespaces', { skip: glanceDefinitions ? false : 'glance-common\'s metadefs are not on this machine' }, () => {
  let tc: TestCloud;
  before(async () => {
    tc = await startTestCloud({ env: { KUMO_IMAGE_METADEFS_DIR: glanceDefinitions } });
  });
  after(async () => {
    await tc?.stop();
  });

  it('loads them all, with the namespaces Horizon offers for images, and glanceclient reads each one', async () => {
    const demo = await tc.token('demo');
    // Two files name no visibility: private, as a namespace made without one, so only admins see them.
    const all = await glance(tc.url, 'GET', `${NS}?limit=1000`, await tc.token('admin'));
    const files = readdirSync(glanceDefinitions as string).filter((f) => f.endsWith('.json'));
    assert.equal(all.json.namespaces.length, files.length, 'one namespace per file');
    const res = await glance(tc.url, 'GET', `${NS}?resource_types=OS::Glance::Image&limit=1000`, demo);
    assert.equal(res.status, 200);
    const loaded = (res.json.namespaces as Array<{ namespace: string }>).map((n) => n.namespace);
    for (const expected of ['OS::Compute::Watchdog', 'OS::Compute::LibvirtImage', 'OS::Compute::Hypervisor']) assert.ok(loaded.includes(expected), expected);

    if (!existsSync(GLANCE_CLI)) return;
    // glanceclient's models validate each namespace, with its properties and objects, against our schemas.
    const script = [
      'import sys',
      'from keystoneauth1 import loading, session',
      'from glanceclient import Client',
      "auth = loading.get_plugin_loader('password').load_from_options(auth_url=sys.argv[1], username='admin', password=sys.argv[2], project_name='admin', user_domain_id='default', project_domain_id='default')",
      "glance = Client('2', session=session.Session(auth=auth))",
      'count = 0',
      "for ns in glance.metadefs_namespace.list(filters={'resource_types': ['OS::Glance::Image']}):",
      "    full = glance.metadefs_namespace.get(ns['namespace'], resource_type='OS::Glance::Image')",
      "    count += len(full.get('properties', {})) + sum(len(o['properties']) for o in full.get('objects', []))",
      'print(count)',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', script, `${tc.url}/identity/v3`, ADMIN_PASSWORD], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() } });
    assert.ok(Number(stdout.trim()) > 50, `glanceclient read ${stdout.trim()} image properties`);
  });
});
