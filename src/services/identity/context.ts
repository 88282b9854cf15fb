import type { KumoConfig } from '../../core/config.js';
import type { Enforcer } from '../../core/policy/index.js';
import type { IdentityDirectory } from './directory.js';
import type { PasswordHasher } from './passwords.js';
import type { IdentityStores } from './store/index.js';
import type { TokenProvider } from './tokens/provider.js';
import type { RevocationList } from './tokens/revocations.js';

/** Everything identity's routes and logic share; built once per process by the plugin. */
export interface IdentityContext {
  config: KumoConfig;
  stores: IdentityStores;
  directory: IdentityDirectory;
  tokens: TokenProvider;
  revocations: RevocationList;
  hasher: PasswordHasher;
  enforcer: Enforcer;
  /** `${publicUrl}/identity/v3`, the base of every `links.self`. */
  baseUrl: string;
  /** Call after every write: clears caches here and tells other processes to do the same. */
  changed(): void;
  /**
   * While a fresh database's accounts are being made: settles once they exist. A login for a
   * name not found yet waits for it rather than failing (the API answers before they exist).
   */
  accountsPending?: Promise<void>;
}
