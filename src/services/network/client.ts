/**
 * The network service's public surface for other services: Neutron in the same process,
 * implementing the interfaces its consumers declare (compute's NetworkPorts and
 * SecurityGroupProxy in compute/peers.ts, the metadata service's InstanceNetworkSource in
 * metadata/sources.ts). Nothing else in this folder is theirs to import
 * (scripts/check-imports.mjs keeps it so); a split deployment can put the same interfaces over HTTP.
 */
export { InProcessNetworkPorts } from './client/compute-ports.js';
export { InProcessSecurityGroups } from './client/compute-security-groups.js';
export { InProcessInstanceNetwork } from './client/metadata-network.js';
