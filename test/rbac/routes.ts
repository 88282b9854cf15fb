/**
 * The routes a running cloud serves, so the matrix can insist that every operation of a
 * service has a row (or a stated reason for having none).
 */
import type { FastifyInstance } from 'fastify';

export interface Route {
  method: string;
  /** e.g. `/compute/v2.1/servers/:id/action` */
  pattern: string;
}

/** Every (method, path) the server answers, read from Fastify's route tree. */
export function servedRoutes(http: FastifyInstance): Route[] {
  const routes: Route[] = [];
  // `printRoutes` draws a tree: each line is a child's path segment appended to its parent's.
  const stack: Array<{ depth: number; path: string }> = [];
  for (const line of http.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│   |    )*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    while (stack.length > depth) stack.pop();
    // A segment that two routes name differently prints as `:id|:userId`: the first will do.
    const segment = (match[2] as string).replace(/:([A-Za-z_]+)(\|:[A-Za-z_]+)+/g, ':$1');
    const path = `${stack.at(-1)?.path ?? ''}${segment}`;
    stack.push({ depth, path });
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if (method) routes.push({ method, pattern: path });
    }
  }
  return routes;
}

/** The route a concrete request lands on: static segments win over parameters, as in find-my-way. */
export function routeOf(routes: readonly Route[], method: string, url: string): Route | undefined {
  const path = url.split('?')[0] as string;
  let best: { route: Route; score: number } | undefined;
  for (const route of routes) {
    if (route.method !== method) continue;
    const score = matchScore(route.pattern, path);
    if (score !== undefined && (best === undefined || score > best.score)) best = { route, score };
  }
  return best?.route;
}

/** How many characters of the pattern matched literally, or undefined when it does not match. */
function matchScore(pattern: string, path: string): number | undefined {
  const parts = pattern.split(/(:[A-Za-z_]+)/);
  let source = '^';
  let literal = 0;
  for (const part of parts) {
    if (part.startsWith(':')) source += '[^/]+';
    else {
      source += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      literal += part.length;
    }
  }
  return new RegExp(`${source}$`).test(path) ? literal : undefined;
}
