import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { KumoConfig } from './core/config.js';
import { createHttpServer } from './core/http/server.js';
import type { Logger } from './core/log.js';
import { Metrics } from './core/metrics.js';
import { CONSOLE_PREFIX } from './contracts/console.js';
import { ComputeInstanceSource, InProcessConsoleTokens } from './services/compute/client.js';
import type { ComputeContext } from './services/compute/context.js';
import { computePlugin } from './services/compute/plugin.js';
import { consolePlugin, registerWebsockets } from './services/console/plugin.js';
import { identityPlugin } from './services/identity/plugin.js';
import type { IdentityService } from './services/identity/service.js';
import type { ImageContext } from './services/image/context.js';
import { imagePlugin } from './services/image/plugin.js';
import { metadataSecret } from './services/metadata/secret.js';
import { startMetadataServer, type MetadataServer } from './services/metadata/server.js';
import { InProcessInstanceNetwork } from './services/network/client.js';
import type { NetworkContext } from './services/network/context.js';
import { networkPlugin } from './services/network/plugin.js';
import type { ObjectContext } from './services/object/context.js';
import { objectPlugin } from './services/object/plugin.js';
import { volumePlugin } from './services/volume/plugin.js';
import type { VolumeService } from './services/volume/service.js';

export interface ApiServices {
  identity: IdentityService;
  image: ImageContext;
  network: NetworkContext;
  compute: ComputeContext;
  volume: VolumeService;
  object: ObjectContext;
}

/**
 * The one HTTP port every API answers on (DevStack's prefixes), and Nova's metadata API on its
 * own: what `kumo up` and `kumo api` both serve. `config.port` and `config.metadata` are
 * updated with the ports actually taken; `cleanups` gets what closes them.
 */
export async function serveApis(config: KumoConfig, services: ApiServices, log: Logger, cleanups: Array<() => Promise<void>>): Promise<{ http: FastifyInstance; metadata: MetadataServer; metadataSecret: string }> {
  const { identity, image, network, compute, volume, object } = services;
  const http = createHttpServer({ logger: log, metrics: new Metrics() });
  await registerWebsockets(http);
  await http.register(identityPlugin(identity), { prefix: '/identity' });
  await http.register(imagePlugin(image, identity, () => config.publicUrl), { prefix: '/image' });
  await http.register(networkPlugin(network, identity), { prefix: '/networking' });
  await http.register(computePlugin(compute, identity), { prefix: '/compute' });
  await http.register(volumePlugin(volume, identity), { prefix: '/volume' });
  // Swift's COPY verb (a server-side copy to the Destination header's name).
  http.addHttpMethod('COPY', { hasBody: true });
  await http.register(objectPlugin(object), { prefix: '/object-store' });
  await http.register(consolePlugin({ tokens: new InProcessConsoleTokens(compute), log }), { prefix: CONSOLE_PREFIX });
  await http.listen({ host: config.host, port: config.port });
  cleanups.push(() => http.close());
  if (config.port === 0) {
    const port = (http.server.address() as AddressInfo).port;
    config.port = port;
    config.publicUrl = config.publicUrl.replace(/:0$/, `:${port}`);
  }

  // The relays sign with the same secret: from the environment, or the data directory's file.
  const sharedSecret = metadataSecret(config.metadata.sharedSecret, config.dataDir);
  config.metadata.sharedSecret = sharedSecret;
  const metadata = await startMetadataServer({
    host: config.metadata.host,
    port: config.metadata.port,
    freePortIfTaken: config.metadata.freePortIfTaken,
    sharedSecret,
    instances: new ComputeInstanceSource(compute),
    network: new InProcessInstanceNetwork(network),
    log,
  });
  cleanups.push(() => metadata.close());
  config.metadata.port = metadata.port;
  return { http, metadata, metadataSecret: sharedSecret };
}
