import type { FastifyInstance } from 'fastify';
import { authorize, callerFrom, notFound, type ComputeContext } from '../context.js';

/**
 * The legacy v2 extensions whose behaviour Kumo's compute API has, by Nova's names. Nova's v2.1
 * /extensions is itself a fixed list kept for old clients, every entry with the same namespace
 * and date; this one names only what answers here.
 */
const EXTENSIONS: ReadonlyArray<readonly [alias: string, name: string, description: string]> = [
  ['OS-DCF', 'DiskConfig', 'Disk Management Extension.'],
  ['OS-EXT-AZ', 'ExtendedAvailabilityZone', 'Extended Availability Zone support.'],
  ['OS-EXT-IPS', 'ExtendedIps', 'Adds type parameter to the ip list.'],
  ['OS-EXT-IPS-MAC', 'ExtendedIpsMac', 'Adds mac address parameter to the ip list.'],
  ['OS-EXT-SRV-ATTR', 'ExtendedServerAttributes', 'Extended Server Attributes support.'],
  ['OS-EXT-STS', 'ExtendedStatus', 'Extended Status support.'],
  ['OS-FLV-DISABLED', 'FlavorDisabled', 'Support to show the disabled status of a flavor.'],
  ['OS-FLV-EXT-DATA', 'FlavorExtraData', 'Provide additional data for flavors.'],
  ['OS-SCH-HNT', 'SchedulerHints', 'Pass arbitrary key/value pairs to the scheduler.'],
  ['OS-SRV-USG', 'ServerUsage', 'Adds launched_at and terminated_at on Servers.'],
  ['os-aggregates', 'Aggregates', 'Admin-only aggregate administration.'],
  ['os-attach-interfaces', 'AttachInterfaces', 'Attach interface support.'],
  ['os-availability-zone', 'AvailabilityZone', '1. Add availability_zone to the Create Server API. 2. Add availability zones describing.'],
  ['os-console-output', 'ConsoleOutput', 'Console log output support, with tailing ability.'],
  ['os-extended-volumes', 'ExtendedVolumes', 'Extended Volumes support.'],
  ['os-flavor-access', 'FlavorAccess', 'Flavor access support.'],
  ['os-flavor-extra-specs', 'FlavorExtraSpecs', 'Flavors extra specs support.'],
  ['os-flavor-manage', 'FlavorManage', 'Flavor create/delete API support.'],
  ['os-hypervisors', 'Hypervisors', 'Admin-only hypervisor administration.'],
  ['os-instance-actions', 'InstanceActions', 'View a log of actions and events taken on an instance.'],
  ['os-keypairs', 'Keypairs', 'Keypair Support.'],
  ['os-lock-server', 'LockServer', 'Enable lock/unlock server actions.'],
  ['os-multiple-create', 'MultipleCreate', 'Allow multiple create in the Create Server v2.1 API.'],
  ['os-pause-server', 'PauseServer', 'Enable pause/unpause server actions.'],
  ['os-quota-sets', 'Quotas', 'Quotas management support.'],
  ['os-remote-consoles', 'Consoles', 'Interactive Console support.'],
  ['os-server-groups', 'ServerGroups', 'Server group support.'],
  ['os-server-tags', 'ServerTags', 'Server tags support.'],
  ['os-services', 'Services', 'Services support.'],
  ['os-simple-tenant-usage', 'SimpleTenantUsage', 'Simple tenant usage extension.'],
  ['os-suspend-server', 'SuspendServer', 'Enable suspend/resume server actions.'],
  ['os-volume-attachments', 'VolumeAttachments', 'Volume attachments support.'],
];

function render([alias, name, description]: readonly [string, string, string]) {
  return { alias, name, description, namespace: 'http://docs.openstack.org/compute/ext/fake_xml', updated: '2014-12-03T00:00:00Z', links: [] };
}

/** GET /extensions and /extensions/{alias}: anyone with a token may read them. */
export function extensionRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  app.get('/extensions', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:extensions');
    return { extensions: EXTENSIONS.map(render) };
  });
  app.get<{ Params: { alias: string } }>('/extensions/:alias', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:extensions');
    const found = EXTENSIONS.find(([alias]) => alias === request.params.alias);
    if (!found) throw notFound('The resource could not be found.');
    return { extension: render(found) };
  });
}
