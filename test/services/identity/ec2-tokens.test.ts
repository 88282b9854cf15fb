// /v3/ec2tokens and /v3/s3tokens: requests signed by the real client library
// (python3-keystoneclient's Ec2Signer) and by Keystone's s3tokens formulas, answered with a
// token for the EC2 credential's user and project; anything not signed right is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertKeystoneError, IdentityAdmin, V3 } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const hasSigner = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'from keystoneclient.contrib.ec2.utils import Ec2Signer'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Ec2Signer(secret).generate(credentials), by the library EC2 gateways use. */
function ec2Sign(secret: string, credentials: Record<string, unknown>): string {
  const script = 'import json,sys\nfrom keystoneclient.contrib.ec2.utils import Ec2Signer\nd=json.load(sys.stdin)\nprint(Ec2Signer(d["secret"]).generate(d["credentials"]))';
  return execFileSync(PYTHON, ['-c', script], { input: JSON.stringify({ secret, credentials }) }).toString().trim();
}

/** Keystone's s3tokens formulas (keystone/api/s3tokens.py), in Python. */
function s3Sign(secret: string, stringToSign: string): string {
  const script = `import base64,hashlib,hmac,json,sys
d=json.load(sys.stdin); s=d["sts"].encode(); k=d["secret"]
if s[:4]!=b"AWS4":
    print(base64.encodebytes(hmac.new(k.encode(),s,hashlib.sha1).digest()).decode().strip())
else:
    scope=s.split(b"\\n")[2].split(b"/")
    f=lambda key,msg: hmac.new(key,msg,hashlib.sha256).digest()
    key=f(f(f(f(("AWS4"+k).encode(),scope[0]),scope[1]),scope[2]),b"aws4_request")
    print(hmac.new(key,s,hashlib.sha256).hexdigest())`;
  return execFileSync(PYTHON, ['-c', script], { input: JSON.stringify({ secret, sts: stringToSign }) }).toString().trim();
}

describe('EC2 and S3 token authentication', { skip: hasSigner ? false : 'python3-keystoneclient is not installed' }, () => {
  let tc: TestCloud;
  let demoId: string;
  let demoProject: string;
  let access: string;
  let secret: string;
  const ec2 = (credentials: unknown) => api(tc.url, 'POST', `${V3}/ec2tokens`, undefined, { credentials });
  const amzDate = (ms = Date.now()) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

  before(async () => {
    tc = await startTestCloud();
    const ia = new IdentityAdmin(tc.url, await tc.token('admin'));
    demoId = await ia.userId('demo');
    demoProject = await ia.projectId('demo');
    const made = await api(tc.url, 'POST', `${V3}/users/${demoId}/credentials/OS-EC2`, await tc.token('demo'), { tenant_id: demoProject });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    access = made.json.credential.access;
    secret = made.json.credential.secret;
  });
  after(async () => tc.stop());

  const checkToken = async (res: Awaited<ReturnType<typeof ec2>>) => {
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.json.token.user.id, demoId);
    assert.equal(res.json.token.project.id, demoProject);
    assert.deepEqual(res.json.token.methods, ['ec2credential']);
    const subject = res.headers.get('x-subject-token') as string;
    const servers = await api(tc.url, 'GET', '/compute/v2.1/servers', subject);
    assert.equal(servers.status, 200, 'the token works elsewhere');
  };

  it('takes a signature version 2 request, also one signed without the port', async () => {
    const params = { Action: 'DescribeInstances', AWSAccessKeyId: access, SignatureVersion: '2', SignatureMethod: 'HmacSHA256', Timestamp: new Date().toISOString() };
    const request = { params, verb: 'GET', host: 'ec2.example.org:8773', path: '/services/Cloud/' };
    await checkToken(await ec2({ access, signature: ec2Sign(secret, request), ...request }));
    const portless = ec2Sign(secret, { ...request, host: 'ec2.example.org' });
    await checkToken(await ec2({ access, signature: portless, ...request }));
    assertKeystoneError(await ec2({ access, signature: portless.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), ...request }), 401);
    const stale = { ...params, Timestamp: new Date(Date.now() - 3600_000).toISOString() };
    assertKeystoneError(await ec2({ access, signature: ec2Sign(secret, { ...request, params: stale }), ...request, params: stale }), 401, /expired/);
  });

  it('takes a signature version 4 request in the Authorization header and in query parameters', async () => {
    const date = amzDate();
    const scope = `${date.slice(0, 8)}/RegionOne/ec2/aws4_request`;
    const headers = { Host: 'ec2.example.org', 'X-Amz-Date': date, Authorization: `AWS4-HMAC-SHA256 Credential=${access}/${scope}, SignedHeaders=host;x-amz-date, Signature=x` };
    const request = { params: { Action: 'DescribeInstances', Version: '2016-11-15' }, verb: 'GET', host: 'ec2.example.org', path: '/', headers, body_hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' };
    await checkToken(await ec2({ access, signature: ec2Sign(secret, request), ...request }));

    const query = { params: { Action: 'DescribeRegions', 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256', 'X-Amz-Credential': `${access}/${scope}`, 'X-Amz-Date': date, 'X-Amz-SignedHeaders': 'host' }, verb: 'GET', host: 'ec2.example.org', path: '/', headers: { Host: 'ec2.example.org' }, body_hash: '' };
    await checkToken(await ec2({ access, signature: ec2Sign(secret, query), ...query }));
    assertKeystoneError(await ec2({ access, signature: ec2Sign(secret, query), ...query, path: '/other' }), 401);
  });

  it('refuses unknown keys, unsigned requests and bodies without credentials', async () => {
    const params = { Action: 'DescribeInstances', SignatureVersion: '2', Timestamp: new Date().toISOString() };
    const request = { params, verb: 'GET', host: 'ec2.example.org', path: '/' };
    assertKeystoneError(await ec2({ access: 'no-such-key', signature: ec2Sign(secret, request), ...request }), 401);
    assertKeystoneError(await ec2({ access, ...request }), 401);
    assertKeystoneError(await ec2({ access, signature: 'x', ...request, params: { Action: 'X' } }), 401);
    assertKeystoneError(await api(tc.url, 'POST', `${V3}/ec2tokens`, undefined, { nothing: {} }), 400);
  });

  it('answers /v3/s3tokens for S3 v2 and v4 strings to sign, and refuses a wrong signature', async () => {
    const s3 = (stringToSign: string, signature: string) =>
      api(tc.url, 'POST', `${V3}/s3tokens`, undefined, { credentials: { access, token: Buffer.from(stringToSign).toString('base64url'), signature } });
    const v2 = `GET\n\n\n${new Date().toUTCString()}\n/bucket/object`;
    const ok = await s3(v2, s3Sign(secret, v2));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.json.token.user.id, demoId);
    const date = amzDate();
    const v4 = `AWS4-HMAC-SHA256\n${date}\n${date.slice(0, 8)}/RegionOne/s3/aws4_request\n${'ab'.repeat(32)}`;
    assert.equal((await s3(v4, s3Sign(secret, v4))).status, 200);
    assertKeystoneError(await s3(v2, s3Sign(`${secret}x`, v2)), 401);
    const notS3 = v4.replace('/s3/', '/ec2/');
    assertKeystoneError(await s3(notS3, s3Sign(secret, notS3)), 401);
  });
});
