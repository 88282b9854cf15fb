import { CommandError, type CommandRunner } from '../../../../core/host/commands.js';
import { plugIntoBridge } from './l2.js';
import { addMarkedLink, isUp, kindOf, listLinks, type Link } from './links.js';
import { ROUTER_PROXY_PORT } from './metadata-proxy.js';
import { PREFIX } from './names.js';
import { canonicalNat, canonicalRendered, floatingPairsOf, natTable } from './router-nat.js';
import { address, planRouter, type RouterLeg, type RouterPlan } from './router-plan.js';
import type { DataplaneUnit, ReconcileContext } from './unit.js';

/** Router ids as they may appear in a proxy key (metadata-proxy.ts) and a namespace name. */
const ROUTER_ID = /^[A-Za-z0-9-]{1,64}$/;
/** Routers reconciled at once. */
const CONCURRENCY = 8;

type LinkWithAddresses = Link & { addr_info?: Array<{ local: string; prefixlen: number; scope?: string }> };

/** What one read of a router namespace tells (one `ip -batch` call). */
interface RouterActual {
  links: Map<string, LinkWithAddresses>;
  routes: Array<{ dst: string; gateway?: string; protocol?: string }>;
  forwarding: boolean;
}

/**
 * Routers, as Neutron's L3 agent builds legacy routers: a qrouter- namespace per router with
 * IP forwarding on, a qr- leg into each internal network's bridge and a qg- leg into the
 * external network's bridge (veth pairs whose host ends are named as the ports' taps), the
 * gateway's default route and the router's extra routes, SNAT of the internal subnets and
 * floating IPs (DNAT/SNAT) in the namespace's nat table, and a metadata proxy that the
 * 169.254.169.254 redirect reaches.
 *
 * Each pass reads a router's namespace once (links, addresses, routes, forwarding in one `ip
 * -batch`, the nat table with iptables-save) and writes only the difference, in one `ip
 * -batch` and at most one iptables-restore. A floating IP that goes away also loses its
 * conntrack entries, so established flows through it stop at once.
 */
export class L3Unit implements DataplaneUnit {
  readonly name = 'l3';

  async reconcile(ctx: ReconcileContext): Promise<void> {
    const keep = new Set<string>();
    const failures: unknown[] = [];
    const up = ctx.desired.routers.filter((r) => r.adminStateUp); // an administratively down router is torn down, as in Neutron
    // Routers are independent of each other (own namespace, own legs): a few at a time, since
    // most of a pass is spent waiting for processes to start.
    await inParallel(up, CONCURRENCY, async (router) => {
      try {
        if (!ROUTER_ID.test(router.id)) throw new Error(`not a valid router id: ${JSON.stringify(router.id)}`);
        keep.add(router.id);
        const namespace = ctx.namespaces.router(router.id);
        const plan = planRouter(router, ctx.desired, namespace, ctx.proxies.enabled);
        await this.apply(ctx, plan);
      } catch (err) {
        // One router's bad state or failure must not stop the others being mended.
        failures.push(err);
        ctx.log.error({ err, router: router.id }, 'could not reconcile router');
      }
    });
    await this.removeOrphans(ctx, keep);
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} router(s) failed`);
  }

  async teardown(ctx: ReconcileContext): Promise<void> {
    await this.removeOrphans(ctx, new Set());
  }

  private async apply(ctx: ReconcileContext, plan: RouterPlan): Promise<void> {
    const { run, report } = ctx;
    const ns = plan.namespace;
    const created = !ctx.existingNamespaces.has(ns);
    if (created) {
      await run.run(['ip', 'netns', 'add', ns], { netns: '' });
      report.applied.push(`router namespace ${ns}`);
    }
    const actual = await readRouter(run, ns);
    const batch: string[] = [];
    if (!isUp(actual.links.get('lo'))) batch.push('link set lo up');
    if (!actual.forwarding) {
      // -e: a kernel without IPv6 has no such key, which is fine.
      await run.run(['sysctl', '-q', '-e', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'], { netns: ns });
      if (!created) report.applied.push(`forwarding ${ns}`);
    }

    for (const leg of plan.legs) await this.ensureLeg(ctx, plan, leg, actual, batch);
    const wantedDevices = new Set(plan.legs.map((l) => l.device));
    for (const name of actual.links.keys()) {
      if ((name.startsWith(PREFIX.routerInterface) || name.startsWith(PREFIX.routerGateway)) && !wantedDevices.has(name)) {
        // Deleting the namespace end deletes the pair, so the tap leaves its bridge too.
        batch.push(`link del ${name}`);
        report.removed.push(`router leg ${ns}/${name}`);
      }
    }
    // Stale routes go first, while their device and address still exist; new ones last,
    // once the addresses their next hops need are in place.
    const routes = this.syncRoutes(plan, actual, report.applied, report.removed);
    const commands = [...routes.del, ...batch, ...routes.add];
    if (commands.length > 0) await run.run(['ip', '-n', ns, '-force', '-batch', '-'], { netns: '', input: `${commands.join('\n')}\n` });

    const current = canonicalNat(await run.run(['iptables-save', '-t', 'nat'], { netns: ns }));
    const wanted = canonicalRendered(plan.nat);
    if (current.join('\n') !== wanted.join('\n')) {
      // -w: an iptables-legacy host serializes tables with a lock; wait for it, do not fail.
      await run.run(['iptables-restore', '-w'], { netns: ns, input: natTable(plan.nat) });
      report.applied.push(`nat ${ns}`);
      // Floating IPs unmapped (or remapped) just now: end their flows, which conntrack would
      // otherwise keep translating. Their rules and addresses are already gone.
      const still = new Set(plan.floatingIps.map((f) => `${f.floatingIp}>${f.fixedIp}`));
      for (const gone of floatingPairsOf(current)) {
        if (still.has(`${gone.floatingIp}>${gone.fixedIp}`)) continue;
        await flushConntrack(run, ns, gone.floatingIp);
        report.removed.push(`floating ip ${gone.floatingIp} -> ${gone.fixedIp}`);
      }
    }

    if (ctx.proxies.enabled) {
      const key = `router-${plan.id}`;
      // A proxy left running in a namespace that was deleted by hand serves nobody: restart it.
      if (created) await ctx.proxies.stop(key);
      if (await ctx.proxies.ensure(key, ns, { address: '0.0.0.0', port: ROUTER_PROXY_PORT }, { header: 'X-Neutron-Router-ID', value: plan.id })) {
        report.applied.push(`metadata proxy ${key}`);
      }
    }
  }

  /** Creates or mends one leg; namespace-side changes are queued on `batch`. */
  private async ensureLeg(ctx: ReconcileContext, plan: RouterPlan, leg: RouterLeg, actual: RouterActual, batch: string[]): Promise<void> {
    const { run, report } = ctx;
    const inside = actual.links.get(leg.device);
    const host = ctx.links.get(leg.tap);
    let hostLink: Link;
    let have: string[];
    if (kindOf(inside) === 'veth' && kindOf(host) === 'veth' && host) {
      hostLink = host;
      const mend: string[] = [];
      if (inside?.address !== leg.mac) mend.push(`link set ${leg.device} address ${leg.mac}`);
      if (inside?.mtu !== leg.mtu) mend.push(`link set ${leg.device} mtu ${leg.mtu}`);
      if (!isUp(inside)) mend.push(`link set ${leg.device} up`);
      batch.push(...mend);
      if (host.mtu !== leg.mtu) {
        await run.run(['ip', 'link', 'set', leg.tap, 'mtu', String(leg.mtu)]);
        mend.push(`mtu ${leg.tap}`);
      }
      if (mend.length > 0) report.applied.push(`router leg ${plan.namespace}/${leg.device} mended`);
      have = (inside?.addr_info ?? []).filter((a) => a.scope !== 'link' && a.scope !== 'host').map((a) => normalized(`${a.local}/${a.prefixlen}`));
    } else {
      // Half a pair (its other end deleted or moved elsewhere): start again from nothing.
      if (inside) await run.run(['ip', '-n', plan.namespace, 'link', 'del', leg.device], { netns: '' });
      if (host) {
        if (kindOf(host) !== 'veth') throw new Error(`${leg.tap} exists and is not a veth: not touching it`);
        await run.run(['ip', 'link', 'del', leg.tap]);
      }
      // One command makes the pair, plugs and raises the host end, and moves the other in.
      const mtu = String(leg.mtu);
      await addMarkedLink(run, ctx.config.cloudId, leg.tap, [leg.tap, 'mtu', mtu, 'master', leg.bridge, 'up', 'type', 'veth', 'peer', 'name', leg.device, 'address', leg.mac, 'mtu', mtu, 'netns', plan.namespace]);
      report.applied.push(`router leg ${plan.namespace}/${leg.device}`);
      batch.push(`link set ${leg.device} up`);
      hostLink = { ifname: leg.tap, ifindex: 0, flags: ['UP'], mtu: leg.mtu, master: leg.bridge };
      have = [];
    }
    await plugIntoBridge(run, hostLink, leg.bridge, report.applied);

    const want = new Set(leg.addresses);
    for (const a of have) {
      if (want.has(a)) continue;
      batch.push(`addr del ${a} dev ${leg.device}`);
      report.removed.push(`address ${leg.device} ${a}`);
    }
    for (const a of leg.addresses) {
      if (have.includes(a)) continue;
      // No duplicate address detection: the address is the port's, allocated by IPAM.
      batch.push(`addr add ${a} dev ${leg.device}${a.includes(':') ? ' nodad' : ''}`);
      report.applied.push(`address ${leg.device} ${a}`);
    }
  }

  /**
   * IPv4 routes beyond the connected ones: the namespace is the router's, so every route not
   * made by the kernel is ours, and one the plan does not have goes.
   */
  private syncRoutes(plan: RouterPlan, actual: RouterActual, applied: string[], removed: string[]): { del: string[]; add: string[] } {
    const del: string[] = [];
    const add: string[] = [];
    const have = new Map(actual.routes.filter((r) => r.protocol !== 'kernel').map((r) => [routeDestination(r.dst), r.gateway]));
    for (const r of plan.routes) {
      if (have.get(r.destination) === r.nexthop) continue;
      add.push(`route replace ${r.destination} via ${r.nexthop} proto static`);
      applied.push(`route ${plan.namespace} ${r.destination} via ${r.nexthop}`);
    }
    const wanted = new Set(plan.routes.map((r) => r.destination));
    for (const [destination, gateway] of have) {
      if (wanted.has(destination)) continue;
      del.push(`route del ${destination}${gateway ? ` via ${gateway}` : ''}`);
      removed.push(`route ${plan.namespace} ${destination}`);
    }
    return { del, add };
  }

  /**
   * Removes the router namespaces of this host that no router wants (gone, or admin down),
   * with their proxies, and proxies left without a namespace. Only namespaces carrying this
   * host's prefix and the qrouter- prefix are touched.
   */
  private async removeOrphans(ctx: ReconcileContext, keep: Set<string>): Promise<void> {
    const { run, report } = ctx;
    const orphans = [...ctx.existingNamespaces].filter((ns) => {
      const owned = ctx.namespaces.owned(ns);
      return owned?.kind === 'router' && !keep.has(owned.id);
    });
    await inParallel(orphans, CONCURRENCY, async (ns) => {
      const id = ctx.namespaces.owned(ns)?.id ?? '';
      // The proxy first: a process left inside would keep the namespace, and its legs, alive.
      if (ROUTER_ID.test(id)) await ctx.proxies.stop(`router-${id}`);
      const legs = [...(await listLinks(run, { netns: ns })).keys()].filter((n) => n.startsWith(PREFIX.routerInterface) || n.startsWith(PREFIX.routerGateway));
      if (legs.length > 0) await run.tryRun(['ip', '-n', ns, '-force', '-batch', '-'], { netns: '', input: legs.map((n) => `link del ${n}\n`).join('') });
      await run.run(['ip', 'netns', 'del', ns], { netns: '' });
      report.removed.push(`router namespace ${ns}`);
    });
    if (!ctx.proxies.enabled) return;
    for (const key of ctx.proxies.keys()) {
      if (!key.startsWith('router-') || keep.has(key.slice('router-'.length))) continue;
      if (await ctx.proxies.stop(key)) report.removed.push(`metadata proxy ${key}`);
    }
  }
}

async function readRouter(run: CommandRunner, ns: string): Promise<RouterActual> {
  const out = await run.run(['ip', '-d', '-j', '-n', ns, '-batch', '-'], { netns: '', input: 'addr show\nroute show\nnetconf show\n' });
  const [links, routes, netconf] = out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown[]);
  const conf = (netconf ?? []) as Array<{ family: string; interface: string; forwarding?: boolean }>;
  // A family the kernel lacks (no IPv6) has no rows and needs nothing.
  const forwarding = (family: string) => conf.every((c) => c.family !== family || c.interface !== 'all' || c.forwarding === true);
  return {
    links: new Map(((links ?? []) as LinkWithAddresses[]).map((l) => [l.ifname, l])),
    routes: (routes ?? []) as RouterActual['routes'],
    forwarding: forwarding('inet') && forwarding('inet6'),
  };
}

/** `ip` prints the default route as "default" and host routes without a length. */
function routeDestination(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  return dst.includes('/') ? dst : `${dst}/32`;
}

function normalized(withPrefix: string): string {
  const slash = withPrefix.indexOf('/');
  try {
    return `${address(withPrefix.slice(0, slash), 'address').text}${withPrefix.slice(slash)}`;
  } catch {
    return withPrefix;
  }
}

/**
 * Ends the flows through a floating IP: those that came in to it (original destination) and
 * those that left as it (reply destination). conntrack exits 1 when nothing matched, which
 * is no failure here.
 */
async function flushConntrack(run: CommandRunner, ns: string, floatingIp: string): Promise<void> {
  for (const selector of ['--orig-dst', '--reply-dst']) {
    try {
      await run.run(['conntrack', '-D', selector, floatingIp], { netns: ns });
    } catch (error) {
      if (error instanceof CommandError && /0 flow entries/.test(error.stderr)) continue;
      throw error;
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure once all settled. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item).catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
