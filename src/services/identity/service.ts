import { join } from 'node:path';
import type { AuthContext, TokenValidator } from '../../core/auth/context.js';
import type { Bus } from '../../core/bus/index.js';
import type { KumoConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import { newHexId } from '../../core/ids.js';
import type { Logger } from '../../core/log.js';
import type { Enforcer } from '../../core/policy/index.js';
import type { IdentityContext } from './context.js';
import { IdentityDirectory } from './directory.js';
import { FernetKeyRepository } from './fernet/key-repository.js';
import { PasswordHasher } from './passwords.js';
import { identityPolicyDefaults } from './policy.js';
import { IdentityStores } from './store/index.js';
import { TokenProvider, type ValidatedToken } from './tokens/provider.js';
import { RevocationList } from './tokens/revocations.js';

const INVALIDATE_TOPIC = 'identity';

/**
 * Identity as the rest of the cloud sees it: the in-process token validator every
 * service uses, and the context its HTTP routes run on.
 */
export class IdentityService implements TokenValidator {
  readonly context: IdentityContext;
  readonly keys: FernetKeyRepository;
  private readonly authCache = new WeakMap<ValidatedToken, AuthContext>();
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    config: KumoConfig,
    database: Database,
    enforcer: Enforcer,
    private readonly bus: Bus | undefined,
    private readonly log: Logger,
  ) {
    enforcer.registerDefaults(identityPolicyDefaults);
    const stores = new IdentityStores(database);
    const directory = new IdentityDirectory(stores);
    this.keys = new FernetKeyRepository(join(config.dataDir, 'fernet-keys'));
    // Tokens can be validated until they expire, so revocations must outlive the longest lifetime.
    const revocations = new RevocationList(stores.credentials, (config.identity.tokenExpirationSeconds + 3600) * 1000);
    const tokens = new TokenProvider(this.keys, directory, revocations, config.identity.tokenExpirationSeconds, async (id) => {
      const cred = await stores.credentials.getApplicationCredential(id);
      if (!cred || (cred.expiresAt && Date.parse(cred.expiresAt) <= Date.now())) return undefined;
      return { roleIds: cred.roleIds, accessRules: await stores.accessRules.list(cred.userId, cred.accessRuleIds) };
    }, (id) => stores.trusts.get(id));
    this.context = {
      config,
      stores,
      directory,
      tokens,
      revocations,
      hasher: new PasswordHasher(config.identity.passwordHashRounds),
      enforcer,
      // Read on use: with port 0 the public URL is only known once the server listens.
      get baseUrl() {
        return `${config.publicUrl}/identity/v3`;
      },
      changed: () => this.changed(),
    };
  }

  async start(): Promise<void> {
    this.keys.setup();
    this.context.hasher.warm();
    await this.context.revocations.load();
    if (this.bus) {
      const listener = await this.bus.listen(INVALIDATE_TOPIC, `api-${process.pid}-${newHexId().slice(0, 8)}`, async (method) => {
        if (method !== 'invalidate') return;
        // Revocations first: a validation between an invalidation and a later reload would
        // cache a revoked token as valid under the new generation.
        await this.context.revocations.load();
        this.context.directory.invalidate();
      });
      this.stopListening = () => listener.close();
    }
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
  }

  private changed(): void {
    this.announceChange().catch((err: unknown) => {
      this.log.warn({ err }, 'could not tell other processes that identity changed');
    });
  }

  /** Drops this process's caches and tells the others on the bus to drop theirs; resolves once the broker has the message. */
  async announceChange(): Promise<void> {
    this.context.directory.invalidate();
    await this.bus?.fanout(INVALIDATE_TOPIC, 'invalidate', {});
  }

  async validate(token: string): Promise<AuthContext> {
    const validated = await this.context.tokens.validate(token);
    const cached = this.authCache.get(validated);
    if (cached) return cached;
    const auth = toAuthContext(validated);
    this.authCache.set(validated, auth);
    return auth;
  }
}

function toAuthContext(t: ValidatedToken): AuthContext {
  return {
    token: t.token,
    userId: t.user.id,
    userName: t.user.name,
    userDomainId: t.userDomain.id,
    userDomainName: t.userDomain.name,
    ...(t.project && t.projectDomain
      ? {
          projectId: t.project.id,
          projectName: t.project.name,
          projectDomainId: t.projectDomain.id,
          projectDomainName: t.projectDomain.name,
        }
      : {}),
    ...(t.domain ? { domainId: t.domain.id, domainName: t.domain.name } : {}),
    system: t.payload.scope.kind === 'system',
    roles: t.roles.map((r) => r.name.toLowerCase()),
    methods: t.payload.methods,
    auditIds: t.payload.auditIds,
    issuedAt: new Date(t.payload.issuedAt),
    expiresAt: new Date(t.payload.expiresAt),
    ...(t.payload.applicationCredentialId ? { applicationCredentialId: t.payload.applicationCredentialId } : {}),
    ...(t.payload.trustId ? { trustId: t.payload.trustId } : {}),
    ...(t.accessRules ? { accessRules: t.accessRules.map(({ service, path, method }) => ({ service, path, method })) } : {}),
  };
}
