/**
 * Neutron's default rules (neutron/conf/policies with neutron_lib's aliases, the secure RBAC
 * defaults Neutron enforces now): a project's members change its resources, `role:admin`
 * does everything, and a network's owning members also govern what other projects' ports on
 * it may do. Visibility of whole resources (own, shared, external) is decided in the queries;
 * these rules guard actions and attributes. A rule `<action>:<attribute>:<key>` judges a key
 * set inside an attribute's object or list of objects (`create_port:fixed_ips:ip_address`).
 * The targets carry `project_id`; those of ports and subnets `network:project_id` of the
 * network they are on, and those of ports its `network:shared` as well.
 */
const ADMIN_OR_PROJECT_MEMBER = '(rule:admin_only) or (role:member and project_id:%(project_id)s)';
const ADMIN_OR_NET_OWNER_MEMBER = '(rule:admin_only) or (role:member and rule:network_owner)';
const PROJECT_OR_NET_OWNER_MEMBER = 'role:member and project_id:%(project_id)s or (rule:admin_only) or (role:member and rule:network_owner)';
/** The port attributes only the network's owner (its members), an admin or a service sets. */
const NET_OWNER_ATTRIBUTE = '(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner';
const NET_OWNER_OR_SHARED_ATTRIBUTE = `${NET_OWNER_ATTRIBUTE} or rule:shared`;
const ADDRESS_PAIRS = '(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api';
const ADMIN_OR_SERVICE = '(rule:admin_only) or (rule:service_api)';

export const networkPolicyDefaults: Record<string, string> = {
  context_is_admin: 'role:admin',
  owner: 'project_id:%(project_id)s',
  admin_or_owner: 'rule:context_is_admin or rule:owner',
  admin_only: 'rule:context_is_admin',
  regular_user: '',
  service_api: 'role:service',
  network_owner: 'project_id:%(network:project_id)s',
  admin_or_network_owner: 'rule:context_is_admin or project_id:%(network:project_id)s',
  sg_owner: 'project_id:%(security_group:project_id)s',
  // Neutron's `field:networks:shared=True`: the port's network is shared.
  shared: 'True:%(network:shared)s',
  default: 'rule:admin_or_owner',

  create_network: ADMIN_OR_PROJECT_MEMBER,
  'create_network:shared': 'rule:admin_only',
  'create_network:router:external': 'rule:admin_only',
  'create_network:provider:network_type': 'rule:admin_only',
  'create_network:provider:physical_network': 'rule:admin_only',
  'create_network:provider:segmentation_id': 'rule:admin_only',
  'create_network:project_id': 'rule:admin_only',
  update_network: ADMIN_OR_PROJECT_MEMBER,
  'update_network:shared': 'rule:admin_only',
  'update_network:router:external': 'rule:admin_only',
  'update_network:provider:network_type': 'rule:admin_only',
  'update_network:provider:physical_network': 'rule:admin_only',
  'update_network:provider:segmentation_id': 'rule:admin_only',
  delete_network: ADMIN_OR_PROJECT_MEMBER,
  'get_network:provider:network_type': 'rule:admin_only',
  'get_network:provider:physical_network': 'rule:admin_only',
  'get_network:provider:segmentation_id': 'rule:admin_only',

  create_subnet: ADMIN_OR_NET_OWNER_MEMBER,
  update_subnet: PROJECT_OR_NET_OWNER_MEMBER,
  delete_subnet: PROJECT_OR_NET_OWNER_MEMBER,

  create_port: `${ADMIN_OR_SERVICE} or role:member and rule:network_owner or rule:shared`,
  // Checked only for `network:*` owners (router and DHCP ports), as Neutron's `not rule:network_device`.
  'create_port:device_owner': NET_OWNER_ATTRIBUTE,
  'create_port:device_id': `${ADMIN_OR_PROJECT_MEMBER} or rule:service_api`,
  'create_port:mac_address': NET_OWNER_ATTRIBUTE,
  'create_port:fixed_ips': NET_OWNER_OR_SHARED_ATTRIBUTE,
  'create_port:fixed_ips:ip_address': NET_OWNER_ATTRIBUTE,
  'create_port:fixed_ips:subnet_id': NET_OWNER_OR_SHARED_ATTRIBUTE,
  'create_port:port_security_enabled': NET_OWNER_ATTRIBUTE,
  'create_port:binding:host_id': ADMIN_OR_SERVICE,
  // Nova's alone (the service role): not even an admin sets a binding profile.
  'create_port:binding:profile': 'rule:service_api',
  'create_port:binding:vnic_type': `${ADMIN_OR_PROJECT_MEMBER} or rule:service_api`,
  'create_port:allowed_address_pairs': ADDRESS_PAIRS,
  'create_port:allowed_address_pairs:mac_address': ADDRESS_PAIRS,
  'create_port:allowed_address_pairs:ip_address': ADDRESS_PAIRS,
  'create_port:project_id': 'rule:admin_only',
  update_port: `${ADMIN_OR_SERVICE} or role:member and project_id:%(project_id)s`,
  'update_port:device_owner': NET_OWNER_ATTRIBUTE,
  'update_port:device_id': `${ADMIN_OR_PROJECT_MEMBER} or rule:service_api`,
  // `manager` is Neutron's project manager role.
  'update_port:mac_address': `${ADMIN_OR_SERVICE} or role:manager and rule:network_owner`,
  'update_port:fixed_ips': NET_OWNER_ATTRIBUTE,
  'update_port:fixed_ips:ip_address': NET_OWNER_ATTRIBUTE,
  'update_port:fixed_ips:subnet_id': NET_OWNER_OR_SHARED_ATTRIBUTE,
  'update_port:port_security_enabled': NET_OWNER_ATTRIBUTE,
  'update_port:binding:host_id': ADMIN_OR_SERVICE,
  'update_port:binding:profile': 'rule:service_api',
  'update_port:binding:vnic_type': `${ADMIN_OR_SERVICE} or role:member and project_id:%(project_id)s`,
  'update_port:allowed_address_pairs': ADDRESS_PAIRS,
  'update_port:allowed_address_pairs:mac_address': ADDRESS_PAIRS,
  'update_port:allowed_address_pairs:ip_address': ADDRESS_PAIRS,
  delete_port: `${ADMIN_OR_SERVICE} or role:member and rule:network_owner or role:member and project_id:%(project_id)s`,
  'get_port:binding:vif_type': ADMIN_OR_SERVICE,
  'get_port:binding:vif_details': ADMIN_OR_SERVICE,
  'get_port:binding:host_id': ADMIN_OR_SERVICE,
  'get_port:binding:profile': ADMIN_OR_SERVICE,

  create_router: ADMIN_OR_PROJECT_MEMBER,
  'create_router:external_gateway_info:enable_snat': 'rule:admin_only',
  'create_router:external_gateway_info:external_fixed_ips': 'rule:admin_only',
  'create_router:distributed': 'rule:admin_only',
  'create_router:ha': 'rule:admin_only',
  'get_router:distributed': 'rule:admin_only',
  'get_router:ha': 'rule:admin_only',
  update_router: ADMIN_OR_PROJECT_MEMBER,
  'update_router:distributed': 'rule:admin_only',
  'update_router:ha': 'rule:admin_only',
  'update_router:external_gateway_info:enable_snat': 'rule:admin_only',
  'update_router:external_gateway_info:external_fixed_ips': 'rule:admin_only',
  delete_router: ADMIN_OR_PROJECT_MEMBER,
  add_router_interface: ADMIN_OR_PROJECT_MEMBER,
  remove_router_interface: ADMIN_OR_PROJECT_MEMBER,
  add_extraroutes: ADMIN_OR_PROJECT_MEMBER,
  remove_extraroutes: ADMIN_OR_PROJECT_MEMBER,

  create_floatingip: ADMIN_OR_PROJECT_MEMBER,
  'create_floatingip:floating_ip_address': '(rule:admin_only) or (role:manager and project_id:%(project_id)s)',
  update_floatingip: ADMIN_OR_PROJECT_MEMBER,
  delete_floatingip: ADMIN_OR_PROJECT_MEMBER,

  create_security_group: ADMIN_OR_PROJECT_MEMBER,
  update_security_group: ADMIN_OR_PROJECT_MEMBER,
  delete_security_group: ADMIN_OR_PROJECT_MEMBER,
  create_security_group_rule: '(rule:admin_only) or (role:member and rule:sg_owner)',
  delete_security_group_rule: '(rule:admin_only) or (role:member and rule:sg_owner)',

  // Tags (PUT and DELETE on /{collection}/{id}/tags); who may see them is who sees the resource.
  'update_network:tags': ADMIN_OR_PROJECT_MEMBER,
  'delete_network:tags': ADMIN_OR_PROJECT_MEMBER,
  'update_subnet:tags': PROJECT_OR_NET_OWNER_MEMBER,
  'delete_subnet:tags': PROJECT_OR_NET_OWNER_MEMBER,
  'update_port:tags': ADMIN_OR_PROJECT_MEMBER,
  'delete_port:tags': PROJECT_OR_NET_OWNER_MEMBER,
  'update_router:tags': ADMIN_OR_PROJECT_MEMBER,
  'delete_router:tags': ADMIN_OR_PROJECT_MEMBER,
  'update_floatingip:tags': ADMIN_OR_PROJECT_MEMBER,
  'delete_floatingip:tags': ADMIN_OR_PROJECT_MEMBER,
  'update_security_group:tags': ADMIN_OR_PROJECT_MEMBER,
  'delete_security_group:tags': ADMIN_OR_PROJECT_MEMBER,
  'update_subnetpool:tags': ADMIN_OR_PROJECT_MEMBER,
  'delete_subnetpool:tags': ADMIN_OR_PROJECT_MEMBER,

  create_address_scope: ADMIN_OR_PROJECT_MEMBER,
  'create_address_scope:shared': 'rule:admin_only',
  update_address_scope: ADMIN_OR_PROJECT_MEMBER,
  'update_address_scope:shared': 'rule:admin_only',
  delete_address_scope: ADMIN_OR_PROJECT_MEMBER,
  create_subnetpool: ADMIN_OR_PROJECT_MEMBER,
  'create_subnetpool:shared': 'rule:admin_only',
  'create_subnetpool:is_default': 'rule:admin_only',
  update_subnetpool: ADMIN_OR_PROJECT_MEMBER,
  'update_subnetpool:is_default': 'rule:admin_only',
  delete_subnetpool: ADMIN_OR_PROJECT_MEMBER,

  // RBAC entries: their owner manages them; sharing with everyone (`*`) is an admin's.
  create_rbac_policy: ADMIN_OR_PROJECT_MEMBER,
  'create_rbac_policy:target_tenant': 'rule:admin_only',
  update_rbac_policy: ADMIN_OR_PROJECT_MEMBER,
  'update_rbac_policy:target_tenant': 'rule:admin_only',
  delete_rbac_policy: ADMIN_OR_PROJECT_MEMBER,

  get_network_ip_availability: 'rule:admin_only',
  get_auto_allocated_topology: ADMIN_OR_PROJECT_MEMBER,
  delete_auto_allocated_topology: ADMIN_OR_PROJECT_MEMBER,

  get_agent: 'rule:admin_only',
  update_agent: 'rule:admin_only',
  delete_agent: 'rule:admin_only',

  // Another project's quota (one's own needs no rule); `manager` is Neutron's project manager role.
  get_quota: '(rule:admin_only) or (role:manager and project_id:%(project_id)s)',
  update_quota: 'rule:admin_only',
  delete_quota: 'rule:admin_only',
};
