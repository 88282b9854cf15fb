// Glance's error bodies follow the request's Accept as webob words them (HTML, JSON or plain
// text), which python-glanceclient depends on; and the boolean list filters are read as Glance
// reads them (os_hidden in any case, protected as written).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DEMO_PASSWORD, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { errorMediaType } from '../../../src/services/image/error-body.js';
import { createImage, glance, IMAGE } from './helpers.js';

const run = promisify(execFile);
const GLANCE_CLI = '/usr/bin/glance';

describe('image API: error bodies and boolean filters', () => {
  let tc: TestCloud;
  let url: string;
  let demo: string;

  before(async () => {
    tc = await startTestCloud();
    url = tc.url;
    demo = await tc.token('demo');
  });

  after(async () => {
    await tc?.stop();
  });

  /** GET of a missing image; node:http, because fetch adds `Accept: * /*` to a request without one. */
  function missing(accept: string | undefined): Promise<{ status: number; type: string; body: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'x-auth-token': demo, ...(accept !== undefined ? { accept } : {}) };
      const req = request(`${url}${IMAGE}/v2/images/${randomUUID()}`, { headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  }

  describe('negotiation as webob does it', () => {
    it('chooses HTML first, then JSON, then plain text', () => {
      assert.equal(errorMediaType('*/*'), 'text/html');
      assert.equal(errorMediaType('application/json'), 'application/json');
      assert.equal(errorMediaType('application/json, text/html;q=0.5'), 'application/json');
      assert.equal(errorMediaType('text/html;q=0, */*'), 'application/json');
      assert.equal(errorMediaType('text/*'), 'text/html');
      assert.equal(errorMediaType('application/*'), 'application/json');
      assert.equal(errorMediaType('image/png'), 'text/plain');
      assert.equal(errorMediaType(''), 'text/plain');
      assert.equal(errorMediaType(undefined), 'text/plain');
      assert.equal(errorMediaType('*/*;q=0'), 'text/plain');
    });

    it('treats a malformed Accept as absent, as webob does (every offer acceptable)', () => {
      assert.equal(errorMediaType('not a media type'), 'text/html');
      assert.equal(errorMediaType('application/json;q=2'), 'text/html');
    });
  });

  describe('over HTTP', () => {
    it('answers Accept: */* (what requests and glanceclient send) with webob\'s HTML page', async () => {
      const answer = await missing('*/*');
      assert.equal(answer.status, 404);
      assert.match(answer.type, /^text\/html/);
      assert.match(answer.body, /<title>404 Not Found<\/title>/);
      assert.match(answer.body, /<h1>404 Not Found<\/h1>\n {2}No image found with ID [0-9a-f-]{36}<br \/><br \/>/);
    });

    it('answers JSON to a client that asks for JSON', async () => {
      const answer = await missing('application/json');
      assert.match(answer.type, /^application\/json/);
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      assert.equal(body.code, '404 Not Found');
      assert.equal(body.title, 'Not Found');
      assert.match(String(body.message), /^No image found with ID/);
    });

    it('answers plain text without an Accept header', async () => {
      const answer = await missing(undefined);
      assert.match(answer.type, /^text\/plain/);
      assert.match(answer.body, /^404 Not Found\n\nNo image found with ID [0-9a-f-]{36}\n\n/);
    });

    it('escapes what the caller wrote when it lands in the HTML page', async () => {
      const response = await fetch(`${url}${IMAGE}/v2/images?visibility=%3Cscript%3E`, { headers: { 'x-auth-token': demo, accept: 'text/html' } });
      assert.equal(response.status, 400);
      const body = await response.text();
      assert.equal(body.includes('<script>'), false, body);
      assert.match(body, /&lt;script&gt;/);
    });

    it('words an unknown path the same way', async () => {
      const response = await fetch(`${url}${IMAGE}/v2/nothing-here`, { headers: { 'x-auth-token': demo, accept: '*/*' } });
      assert.equal(response.status, 404);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    });

    it('python-glanceclient reports the error instead of crashing on it', { skip: existsSync(GLANCE_CLI) ? false : 'python3-glanceclient is not installed' }, async () => {
      const id = randomUUID();
      const args = [
        '--os-auth-url', `${url}/identity/v3`, '--os-username', 'demo', '--os-password', DEMO_PASSWORD,
        '--os-project-name', 'demo', '--os-user-domain-id', 'default', '--os-project-domain-id', 'default',
        'image-show', id,
      ];
      const failed = await run(GLANCE_CLI, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tc.dataDir } }).then(
        () => undefined,
        (error: { stderr?: string; stdout?: string }) => error,
      );
      assert.ok(failed, 'image-show of a missing image fails');
      const output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
      assert.equal(output.includes('Traceback'), false, output);
      assert.match(output, new RegExp(`No image with a name or ID of '${id}' exists|No image found with ID ${id}|404`), output);
    });
  });

  describe('boolean filters', () => {
    it('takes os_hidden in any case, as openstacksdk sends it (os_hidden=True)', async () => {
      const tag = `bool-${randomUUID().slice(0, 8)}`;
      const hidden = await createImage(url, demo, { name: 'hidden', os_hidden: true, tags: [tag] });
      const shown = await createImage(url, demo, { name: 'shown', tags: [tag] });
      const ids = async (query: string) => {
        const res = await glance(url, 'GET', `/v2/images?tag=${tag}&${query}`, demo);
        assert.equal(res.status, 200, JSON.stringify(res.json));
        return (res.json.images as Array<{ id: string }>).map((i) => i.id);
      };
      assert.deepEqual(await ids('os_hidden=True'), [hidden.id]);
      assert.deepEqual(await ids('os_hidden=TRUE'), [hidden.id]);
      assert.deepEqual(await ids('os_hidden=False'), [shown.id]);
      assert.deepEqual(await ids('os_hidden=false'), [shown.id]);
    });

    it('refuses values Glance refuses, naming the filter', async () => {
      for (const query of ['os_hidden=1', 'os_hidden=yes', 'protected=True', 'protected=1', 'os_hidden=']) {
        const res = await glance(url, 'GET', `/v2/images?${query}`, demo);
        assert.equal(res.status, 400, query);
        assert.match(String(res.json.message), /Valid values are 'true' or 'false'/, query);
      }
    });
  });
});
