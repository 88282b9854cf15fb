import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenAuthHook, type TokenValidator } from '../../core/auth/context.js';
import { toApiError } from '../../core/http/errors.js';
import { emptyJsonIsNoBody, refuseNulInUrl } from '../../core/http/json-bodies.js';
import { CINDER_ERROR_KEYS } from './context.js';
import { MAX, MIN, negotiateVolume, stampVolumeVersion, VolumeMicroversion } from './microversion.js';
import { attachmentRoutes } from './routes/attachments.js';
import { messageRoutes } from './routes/messages.js';
import { miscRoutes } from './routes/misc.js';
import { qosRoutes } from './routes/qos.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { transferRoutes } from './routes/transfers.js';
import { typeRoutes } from './routes/types.js';
import { volumeRoutes } from './routes/volumes.js';
import type { VolumeService } from './service.js';

/**
 * Cinder v3 under /volume: its routes, microversions and error shape stay inside this plugin.
 * Every route answers both with and without the project id in the path (DevStack's endpoint
 * carries none; clients older than 3.67 put one in).
 */
export function volumePlugin(svc: VolumeService, tokens: TokenValidator) {
  return async function register(app: FastifyInstance): Promise<void> {
    const base = () => `${svc.ctx.config.publicUrl}/volume`;
    app.decorateRequest('volumeVersion', {
      getter(this: FastifyRequest & { _volumeVersion?: VolumeMicroversion }) {
        return this._volumeVersion ?? new VolumeMicroversion(MIN.major, MIN.minor);
      },
      setter(this: FastifyRequest & { _volumeVersion?: VolumeMicroversion }, value: VolumeMicroversion) {
        this._volumeVersion = value;
      },
    });
    app.addHook('onRequest', refuseNulInUrl);
    app.addHook('onRequest', async (request) => {
      request.volumeVersion = negotiateVolume(request);
    });
    app.addHook('onRequest', tokenAuthHook(tokens, ['block-storage', 'volumev3', 'volume']));
    app.addHook('onSend', async (request, reply) => stampVolumeVersion(request, reply));
    // Cinder's bodiless answers (202 on delete and actions, 200 on metadata delete) have no
    // body at all; a handler returning null means exactly that, not the JSON text `null`.
    app.addHook('onSend', async (_request, reply, payload) => {
      if (payload !== 'null') return payload;
      reply.removeHeader('content-type');
      return '';
    });
    emptyJsonIsNoBody(app);
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const apiError = toApiError(error);
      if (apiError.status >= 500) request.log.error({ err: error }, 'volume request failed');
      const key = CINDER_ERROR_KEYS[apiError.status] ?? (apiError.status >= 500 ? 'computeFault' : 'badRequest');
      reply.code(apiError.status).send({ [key]: { code: apiError.status, message: apiError.message } });
    });
    app.serviceNotFound((request, reply) => {
      reply.code(404).send({ itemNotFound: { code: 404, message: `The resource could not be found: ${request.url}` } });
    });

    const v3 = () => ({
      id: 'v3.0',
      status: 'CURRENT',
      version: `${MAX.major}.${MAX.minor}`,
      min_version: `${MIN.major}.${MIN.minor}`,
      updated: '2022-08-31T00:00:00Z',
      links: [
        { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
        { rel: 'self', href: `${base()}/v3/` },
      ],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }],
    });
    app.get('/', { config: { public: true } }, async (_request, reply) => {
      reply.code(300);
      return { versions: [v3()] };
    });
    app.get('/v3', { config: { public: true } }, async () => ({ versions: [v3()] }));
    app.get('/v3/', { config: { public: true } }, async () => ({ versions: [v3()] }));

    const routes = async (scope: FastifyInstance) => {
      volumeRoutes(scope, svc, base);
      snapshotRoutes(scope, svc);
      typeRoutes(scope, svc);
      attachmentRoutes(scope, svc);
      transferRoutes(scope, svc, base);
      messageRoutes(scope, svc, base);
      qosRoutes(scope, svc, base);
      miscRoutes(scope, svc);
    };
    await app.register(routes, { prefix: '/v3' });
    await app.register(routes, { prefix: '/v3/:project_id' });
  };
}
