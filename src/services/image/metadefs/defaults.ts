import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isObject } from '../../../core/http/body.js';
import type { Logger } from '../../../core/log.js';
import { glanceTime } from '../images.js';
import { namespaceBundle } from './service.js';
import type { MetadefRecords } from './store.js';

/**
 * Where Glance's own definition files are found when none is configured: the directory
 * glance-manage reads (/etc/glance/metadefs) and where Debian's glance-common ships them.
 * Kumo keeps no copy of its own; `.ci/run` and the README extract them from glance-common.
 */
export const METADEF_DIRS = ['/etc/glance/metadefs', '/usr/share/glance-common/metadefs'];

export interface MetadefLoadReport {
  directory?: string;
  loaded: string[];
  /** Already there (an earlier start, or a namespace an admin made): left as it is. */
  kept: string[];
  /** Files that are not a namespace document, with why. */
  refused: Array<{ file: string; reason: string }>;
}

export function metadefDirectory(configured: string | undefined): string | undefined {
  if (configured) return configured;
  return METADEF_DIRS.find((dir) => existsSync(dir));
}

/**
 * Loads each `*.json` namespace of a directory that is not in the database yet, as
 * `glance-manage db load_metadefs` does without --merge: a restart, or another API process
 * loading at the same moment, changes nothing (a namespace is created whole or not at all).
 * Owner `admin` and protected resource types, as Glance's loader makes them.
 */
export async function loadDefaultMetadefs(records: MetadefRecords, directory: string | undefined, log: Logger): Promise<MetadefLoadReport> {
  const report: MetadefLoadReport = { loaded: [], kept: [], refused: [] };
  if (!directory) {
    log.info({ searched: METADEF_DIRS }, 'no metadata definition directory: Glance\'s default namespaces are not loaded (install glance-common or set KUMO_IMAGE_METADEFS_DIR)');
    return report;
  }
  report.directory = directory;
  let files: string[];
  try {
    files = (await readdir(directory)).filter((f) => f.endsWith('.json')).sort();
  } catch (error) {
    log.warn({ err: error, directory }, 'cannot read the metadata definition directory');
    return report;
  }
  for (const file of files) {
    let document: unknown;
    try {
      document = JSON.parse(await readFile(join(directory, file), 'utf8'));
    } catch (error) {
      report.refused.push({ file, reason: `not JSON: ${(error as Error).message}` });
      continue;
    }
    if (!isObject(document)) {
      report.refused.push({ file, reason: 'not a JSON object' });
      continue;
    }
    let bundle;
    try {
      const now = glanceTime();
      bundle = namespaceBundle({ owner: 'admin', ...document }, 'admin', now);
    } catch (error) {
      report.refused.push({ file, reason: (error as Error).message });
      continue;
    }
    if (await records.getNamespace(bundle.namespace.namespace)) {
      report.kept.push(bundle.namespace.namespace);
      continue;
    }
    try {
      for (const association of bundle.associations) await records.ensureResourceType(association.resource_type, true, bundle.namespace.created_at);
      await records.createBundle(bundle);
      report.loaded.push(bundle.namespace.namespace);
    } catch (error) {
      if (!records.isDuplicate(error)) throw error;
      report.kept.push(bundle.namespace.namespace);
    }
  }
  for (const { file, reason } of report.refused) log.warn({ file, reason }, 'metadata definition file not loaded');
  if (report.loaded.length > 0) log.info({ directory, loaded: report.loaded.length }, 'loaded Glance\'s default metadata definitions');
  return report;
}
