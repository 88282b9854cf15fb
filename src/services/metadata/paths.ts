import { posix } from 'node:path';
import { EC2_VERSIONS, LISTED_AS, OPENSTACK_VERSIONS, type Ec2Dir, type Ec2Node, type InstanceMetadata } from './content.js';

/**
 * Request paths as Nova's metadata handler reads them: normalised (`//`, `.`, `..`, trailing
 * `/`), anything not under `/openstack` taken as EC2, directories listed one entry a line.
 */

/** A found answer: text or bytes to send, or the password handler. */
export type Found =
  | { kind: 'body'; body: string | Buffer; contentType: 'text/plain' | 'application/json' }
  | { kind: 'password' };

/** The path's tokens after normalisation, `[]` for `/`; undefined when it cannot be decoded. */
export function pathTokens(url: string): string[] | undefined {
  const raw = url.split('?', 1)[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const normal = posix.normalize(`/${decoded}`);
  return normal.split('/').filter((t) => t !== '');
}

/** `/`: the EC2 versions, served before (and without) any check of who asks, as Nova does. */
export function rootListing(): string {
  return [...EC2_VERSIONS, 'latest'].join('\n');
}

/** What `tokens` names in this instance's metadata, or undefined (Nova's 404). */
export function find(md: InstanceMetadata, tokens: string[], today = new Date()): Found | undefined {
  const [top, ...rest] = tokens;
  if (top === 'openstack') return findOpenStack(md, rest, today);
  return findEc2(md, top === 'ec2' ? rest : tokens);
}

function findOpenStack(md: InstanceMetadata, tokens: string[], today: Date): Found | undefined {
  const [version, ...rest] = tokens;
  if (version === undefined) {
    // Versions dated after today are hidden, as Nova hides those of a release not yet out.
    const day = today.toISOString().slice(0, 10);
    return text([...OPENSTACK_VERSIONS.filter((v) => v <= day), 'latest'].join('\n'));
  }
  const files = md.openstack(version);
  if (!files) return undefined;
  if (rest.length === 0) return text([...files.keys()].join('\n'));
  const file = files.get(rest.join('/'));
  if (!file) return undefined;
  if (file.kind === 'password') return file;
  if (file.kind === 'bytes') return { kind: 'body', body: file.value, contentType: 'text/plain' };
  return { kind: 'body', body: JSON.stringify(file.value), contentType: 'application/json' };
}

function findEc2(md: InstanceMetadata, tokens: string[]): Found | undefined {
  const [version, ...rest] = tokens;
  if (version === undefined) return text([...EC2_VERSIONS, 'latest'].join('\n'));
  let node: Ec2Node | undefined = md.ec2(version);
  for (const token of rest) {
    if (node === undefined || !isDir(node) || !Object.hasOwn(node, token)) return undefined;
    node = node[token];
  }
  return node === undefined ? undefined : text(render(node));
}

function isDir(node: Ec2Node): node is Ec2Dir {
  return typeof node === 'object' && !Array.isArray(node) && !Buffer.isBuffer(node);
}

/** Nova's ec2_md_print: a directory lists its keys sorted, sub-directories with `/`; a list is one item a line. */
function render(node: Ec2Node): string | Buffer {
  if (Buffer.isBuffer(node)) return node;
  if (Array.isArray(node)) return node.join('\n');
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  const dir = node as Ec2Dir;
  return Object.keys(dir)
    .sort()
    .map((key) => {
      const child = dir[key] as Ec2Node;
      if (!isDir(child)) return key;
      return child[LISTED_AS] ?? `${key}/`;
    })
    .join('\n');
}

function text(body: string | Buffer): Found {
  return { kind: 'body', body, contentType: 'text/plain' };
}
