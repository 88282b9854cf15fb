// Projects acting as domains: in Keystone every domain is a project with is_domain, which
// /v3/projects creates, lists, shows, changes and deletes, as tempest's test_projects does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertKeystoneError, IdentityAdmin, unique } from './helpers.js';

describe('projects acting as domains', () => {
  let tc: TestCloud;
  let ia: IdentityAdmin;

  before(async () => {
    tc = await startTestCloud();
    ia = new IdentityAdmin(tc.url, await tc.token('admin'));
  });
  after(async () => tc.stop());

  it('makes a domain, shows it through both APIs, and deletes it once disabled', async () => {
    const name = unique('is-domain');
    const made = await ia.call('POST', '/projects', { project: { name, is_domain: true, domain_id: null, description: 'as a domain' } }, 201);
    const project = made.json.project;
    assert.equal(project.is_domain, true);
    assert.equal(project.domain_id, null);
    assert.equal(project.parent_id, null);
    const listed = await ia.call('GET', '/projects?is_domain=true');
    assert.ok(listed.json.projects.some((p: { id: string }) => p.id === project.id));
    assert.ok(listed.json.projects.every((p: { is_domain: boolean }) => p.is_domain), 'only projects acting as domains');
    const plain = await ia.call('GET', '/projects');
    assert.ok(!plain.json.projects.some((p: { id: string }) => p.id === project.id), 'not among the ordinary projects');
    const domain = await ia.call('GET', `/domains/${project.id}`);
    assert.equal(domain.json.domain.name, name);
    assert.equal((await ia.call('GET', `/projects/${project.id}`)).json.project.is_domain, true);

    assertKeystoneError(await ia.call('DELETE', `/projects/${project.id}`, undefined, 403), 403);
    const disabled = await ia.call('PATCH', `/projects/${project.id}`, { project: { enabled: false } });
    assert.equal(disabled.json.project.enabled, false);
    assert.equal((await ia.call('GET', `/domains/${project.id}`)).json.domain.enabled, false);
    await ia.call('DELETE', `/projects/${project.id}`, undefined, 204);
    await ia.call('GET', `/domains/${project.id}`, undefined, 404);
  });

  it('refuses a project acting as a domain inside another domain or project', async () => {
    assertKeystoneError(await ia.call('POST', '/projects', { project: { name: unique('x'), is_domain: true, domain_id: 'default' } }, 400), 400);
    const parent = await ia.project(unique('parent'));
    assertKeystoneError(await ia.call('POST', '/projects', { project: { name: unique('x'), is_domain: true, parent_id: parent.id } }, 400), 400);
    const ordinary = await ia.project(unique('ordinary'));
    assertKeystoneError(await ia.call('PATCH', `/projects/${ordinary.id}`, { project: { is_domain: true } }, 400), 400);
  });
});
