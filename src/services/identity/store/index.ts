import type { Database } from '../../../core/db/database.js';
import { AccessRuleStore } from './access-rules.js';
import { AssignmentStore } from './assignments.js';
import { BootstrapStore } from './bootstrap.js';
import { CatalogStore } from './catalog.js';
import { CredentialStore } from './credentials.js';
import { identityDb } from './db.js';
import { DomainConfigStore } from './domain-configs.js';
import { LimitStore } from './limits.js';
import { PolicyStore } from './policies.js';
import { ResourceStore } from './resources.js';
import { TrustStore } from './trusts.js';
import { UserCredentialStore } from './user-credentials.js';
import { UserStore } from './users.js';

/** Every identity store over one database handle. */
export class IdentityStores {
  readonly resources: ResourceStore;
  readonly users: UserStore;
  readonly assignments: AssignmentStore;
  readonly catalog: CatalogStore;
  readonly credentials: CredentialStore;
  readonly limits: LimitStore;
  /** /v3/credentials (EC2 keys too); `credentials` holds application credentials. */
  readonly userCredentials: UserCredentialStore;
  readonly policies: PolicyStore;
  readonly domainConfigs: DomainConfigStore;
  readonly bootstrap: BootstrapStore;
  readonly trusts: TrustStore;
  readonly accessRules: AccessRuleStore;

  constructor(readonly database: Database) {
    const db = identityDb(database);
    this.resources = new ResourceStore(db);
    this.users = new UserStore(db);
    this.assignments = new AssignmentStore(db);
    this.catalog = new CatalogStore(db);
    this.credentials = new CredentialStore(db);
    this.limits = new LimitStore(db);
    this.userCredentials = new UserCredentialStore(db);
    this.policies = new PolicyStore(db);
    this.domainConfigs = new DomainConfigStore(db);
    this.bootstrap = new BootstrapStore(db);
    this.trusts = new TrustStore(db);
    this.accessRules = new AccessRuleStore(db);
  }
}
