import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SECRET_FILE = 'metadata-secret';

/**
 * The secret the metadata relay signs instance ids with (Nova's and Neutron's
 * metadata_proxy_shared_secret): the configured one, else the one kept in the data directory,
 * made on first use. Every process on the same data directory reads the same file, so a relay
 * in another process agrees with the service without any configuration.
 */
export function metadataSecret(configured: string | undefined, dataDir: string): string {
  if (configured !== undefined && configured !== '') return configured;
  const path = join(dataDir, SECRET_FILE);
  const existing = readSecret(path);
  if (existing !== undefined) return existing;
  mkdirSync(dataDir, { recursive: true });
  // Written aside and linked into place: the link either creates the file whole or finds
  // that another process got there first, so nobody ever reads a half-written secret.
  const staging = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(staging, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  try {
    linkSync(staging, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(staging);
  }
  const secret = readSecret(path);
  if (secret === undefined) throw new Error(`${path} is empty: delete it, or set KUMO_METADATA_SECRET`);
  return secret;
}

function readSecret(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
