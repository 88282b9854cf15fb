// Nova's 8775 taken by another process (a second cloud on the host) does not keep a cloud from
// starting: with the default port, a free one is taken and said; a port asked for is kept to.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startMetadataServer, type MetadataServerOptions } from '../../../src/services/metadata/server.js';
import { createLogger } from '../../../src/core/log.js';

describe('the metadata port', () => {
  let holder: Server;
  let taken = 0;
  const options = (port: number, freePortIfTaken: boolean): MetadataServerOptions => ({
    host: '127.0.0.1',
    port,
    freePortIfTaken,
    sharedSecret: 'secret',
    instances: { get: async () => undefined } as unknown as MetadataServerOptions['instances'],
    network: {} as MetadataServerOptions['network'],
    log: createLogger('silent'),
  });

  before(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    taken = (holder.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('takes a free port instead of the default one when that is taken, and says which was taken', async () => {
    const server = await startMetadataServer(options(taken, true));
    try {
      assert.notEqual(server.port, taken);
      assert.equal(server.taken, taken);
      assert.equal(server.url, `http://127.0.0.1:${server.port}`);
      const response = await fetch(`${server.url}/`);
      assert.equal(response.status, 200, 'it serves on the port it took');
    } finally {
      await server.close();
    }
  });

  it('fails on a port that was asked for', async () => {
    await assert.rejects(startMetadataServer(options(taken, false)), /EADDRINUSE/);
  });
});
