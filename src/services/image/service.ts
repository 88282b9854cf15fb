import { join } from 'node:path';
import type { KumoConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import type { Logger } from '../../core/log.js';
import type { Enforcer } from '../../core/policy/index.js';
import type { IdentityClient } from '../identity/client.js';
import type { ImageContext } from './context.js';
import { imagePolicyDefaults } from './policy.js';
import { metadefDirectory } from './metadefs/defaults.js';
import { MetadefRecords } from './metadefs/store.js';
import { ImageRecords } from './store.js';
import { webDownloadPolicy } from './web-download.js';
import { FilesystemStore } from './stores/filesystem.js';

/** Registered unified limits (Keystone) the image service enforces, with DevStack-like defaults. */
export const IMAGE_DEFAULT_LIMITS: Record<string, number> = {
  image_size_total: 10_240,
  image_stage_total: 10_240,
  image_count_total: 1_000,
  image_count_uploading: 100,
};

export function createImageContext(
  config: KumoConfig,
  database: Database,
  enforcer: Enforcer,
  identity: IdentityClient,
  log: Logger,
): ImageContext {
  enforcer.registerDefaults(imagePolicyDefaults);
  return {
    records: new ImageRecords(database),
    metadefs: new MetadefRecords(database),
    ...optional('metadefsDir', metadefDirectory(config.image.metadefsDir)),
    store: new FilesystemStore(join(config.dataDir, 'images')),
    staging: new FilesystemStore(join(config.dataDir, 'image-staging'), 'staging'),
    identity,
    enforcer,
    log,
    webDownload: webDownloadPolicy(config.image.webDownloadAllowedHosts),
    uploadIdleTimeoutMs: config.image.uploadIdleTimeoutSeconds * 1000,
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
