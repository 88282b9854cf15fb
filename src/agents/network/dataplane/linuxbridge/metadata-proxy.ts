import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from '../../../../core/host/commands.js';
import { runningPid, stopDaemon } from '../../../../core/host/daemons.js';

export const METADATA_ADDRESS = '169.254.169.254';
/** Where a router's proxy listens; an iptables REDIRECT sends 169.254.169.254:80 to it, as in Neutron. */
export const ROUTER_PROXY_PORT = 9697;

export interface ProxyIdentity {
  /** Which header tells the metadata relay where the request came from. */
  header: 'X-Neutron-Router-ID' | 'X-Neutron-Network-ID';
  value: string;
}

const KEY = /^(router|network)-[A-Za-z0-9-]{1,64}$/;

/**
 * The metadata proxy of one namespace: haproxy, as Neutron runs it, listening inside the
 * namespace and forwarding over a unix socket (which crosses namespaces) to the agent's
 * metadata relay. It adds the guest's address (X-Forwarded-For) and the router or network it
 * came through; the relay turns that into the instance's identity. Headers of those names a
 * guest sends itself are dropped first.
 */
export class MetadataProxies {
  constructor(
    private readonly run: CommandRunner,
    private readonly stateDir: string,
    private readonly socketPath: string | undefined,
  ) {
    // Both paths are written into haproxy's configuration, whose syntax splits on whitespace.
    for (const path of [stateDir, socketPath ?? '/']) {
      if (!/^\/[A-Za-z0-9._\/-]*$/.test(path)) throw new Error(`metadata proxy path ${JSON.stringify(path)}: only letters, digits, . _ - and /`);
    }
  }

  get enabled(): boolean {
    return this.socketPath !== undefined;
  }

  /** Starts (or keeps, or restarts on a changed config) the proxy for `key` in `netns`. */
  async ensure(key: string, netns: string, bind: { address: string; port: number }, identity: ProxyIdentity): Promise<boolean> {
    if (!this.socketPath) return false;
    if (!KEY.test(key)) throw new Error(`bad proxy key ${key}`);
    const config = this.configPath(key);
    const text = haproxyConfig(this.pidPath(key), bind, this.socketPath, identity);
    const unchanged = existsSync(config) && readFileSync(config, 'utf8') === text;
    if (unchanged && runningPid(this.pidPath(key), config) !== undefined) return false;
    await stopDaemon(this.pidPath(key), config);
    writeFileSync(config, text);
    await this.run.run(['haproxy', '-f', config], { netns });
    return true;
  }

  async stop(key: string): Promise<boolean> {
    if (!KEY.test(key)) throw new Error(`bad proxy key ${key}`);
    const stopped = await stopDaemon(this.pidPath(key), this.configPath(key));
    rmSync(this.configPath(key), { force: true });
    return stopped;
  }

  /** Keys of the proxies this host has config for (running or not), for orphan removal. */
  keys(): string[] {
    return readdirSync(this.stateDir)
      .filter((f) => f.startsWith('haproxy-') && f.endsWith('.cfg'))
      .map((f) => f.slice('haproxy-'.length, -'.cfg'.length))
      .filter((k) => KEY.test(k));
  }

  private configPath(key: string): string {
    return join(this.stateDir, `haproxy-${key}.cfg`);
  }

  private pidPath(key: string): string {
    return join(this.stateDir, `haproxy-${key}.pid`);
  }
}

function haproxyConfig(pidFile: string, bind: { address: string; port: number }, socketPath: string, identity: ProxyIdentity): string {
  return [
    'global',
    '    daemon',
    '    maxconn 1024',
    `    pidfile ${pidFile}`,
    '',
    'defaults',
    '    mode http',
    '    option http-server-close',
    '    option forwardfor',
    '    retries 3',
    '    timeout http-request 30s',
    '    timeout connect 30s',
    '    timeout client 32s',
    '    timeout server 32s',
    '    timeout http-keep-alive 30s',
    '',
    'listen metadata',
    `    bind ${bind.address}:${bind.port}`,
    `    server relay ${socketPath}`,
    '    http-request del-header X-Forwarded-For',
    '    http-request del-header X-Neutron-Router-ID',
    '    http-request del-header X-Neutron-Network-ID',
    '    http-request del-header X-Instance-ID',
    '    http-request del-header X-Tenant-ID',
    '    http-request del-header X-Instance-ID-Signature',
    `    http-request set-header ${identity.header} ${identity.value}`,
    '',
  ].join('\n');
}
