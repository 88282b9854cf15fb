/**
 * Where the console proxy (Nova's nova-novncproxy) lives on Kumo's one port, shared by the
 * compute API that hands out console URLs and the proxy that serves them.
 */

/** The proxy's prefix: noVNC's page and files under it, the websocket at `<prefix>/websockify`. */
export const CONSOLE_PREFIX = '/vnc';
export const NOVNC_PAGE = 'vnc_lite.html';
export const WEBSOCKIFY = 'websockify';

/**
 * The URL `console url show` returns: noVNC's page with its `path` parameter naming the
 * websocket (relative to the server root, so a public URL with a path keeps it) and the token.
 * noVNC takes host and port from the page's own address.
 */
export function noVncUrl(publicUrl: string, token: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  const root = new URL(base).pathname.replace(/^\/+|\/+$/g, '');
  const websocket = `${root === '' ? '' : `${root}/`}${CONSOLE_PREFIX.slice(1)}/${WEBSOCKIFY}?token=${token}`;
  return `${base}${CONSOLE_PREFIX}/${NOVNC_PAGE}?path=${encodeURIComponent(websocket)}`;
}

/** Where a console is on its host: a unix socket, or a TCP host and port. */
export type ConsoleEndpoint = { unixSocket: string } | { host: string; port: number };

/** What a valid console token opens: compute issues it, the console proxy joins a browser to it. */
export interface ConsoleGrant {
  instanceId: string;
  consoleType: string;
  endpoint: ConsoleEndpoint;
  computeHost: string;
  expiresAt: string;
}
