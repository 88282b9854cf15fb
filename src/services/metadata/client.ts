/**
 * The metadata service's public surface for other services: the interface it asks the network
 * service to implement (an instance's network as Nova's network info carries it) and the types
 * that carries. Nothing else in this folder is theirs to import (scripts/check-imports.mjs).
 */
export type { InstanceNetwork, InstanceNetworkSource, MetadataSubnet, MetadataVif } from './sources.js';
