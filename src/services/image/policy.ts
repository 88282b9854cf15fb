/**
 * Glance's default rules (glance/policies, the secure RBAC defaults Glance enforces now): the
 * owning project's readers see its images, its members change them, `role:admin` does all.
 * Targets carry `project_id` (the image's owner, as Glance's ImageTarget maps it), `owner`,
 * `visibility` and `member_id` (the caller's project when it is a member of the image).
 * Whether an image is visible at all is decided first: an image the caller cannot see is
 * not found (404), one it sees but may not change is 403.
 */
const ADMIN = 'rule:context_is_admin';
const OWNER_MEMBER = 'rule:context_is_admin or (role:member and project_id:%(project_id)s)';
const VISIBLE_TO = "(project_id:%(project_id)s or project_id:%(member_id)s or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s)";

export const imagePolicyDefaults: Record<string, string> = {
  default: '',
  context_is_admin: 'role:admin',
  service_api: 'role:service or role:admin',

  add_image: 'rule:context_is_admin or (role:member and project_id:%(project_id)s and project_id:%(owner)s)',
  get_image: `rule:context_is_admin or (role:reader and ${VISIBLE_TO})`,
  get_images: 'rule:context_is_admin or (role:reader and project_id:%(project_id)s)',
  modify_image: OWNER_MEMBER,
  delete_image: OWNER_MEMBER,
  upload_image: OWNER_MEMBER,
  download_image: `rule:context_is_admin or (role:member and ${VISIBLE_TO})`,
  publicize_image: ADMIN,
  communitize_image: OWNER_MEMBER,
  deactivate: OWNER_MEMBER,
  reactivate: OWNER_MEMBER,
  copy_image: ADMIN,
  set_image_location: OWNER_MEMBER,
  delete_image_location: ADMIN,

  get_member: 'rule:context_is_admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)',
  get_members: 'rule:context_is_admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)',
  add_member: OWNER_MEMBER,
  delete_member: OWNER_MEMBER,
  modify_member: 'rule:context_is_admin or (role:member and project_id:%(member_id)s)',

  stores_info_detail: 'rule:context_is_admin or rule:service_api',

  // Metadata definitions: anyone reads (visibility is decided first, in metadefs/service.ts);
  // only admins write, as Glance's defaults have it.
  metadef_default: '',
  metadef_admin: 'role:admin',
  get_metadef_namespace: 'rule:metadef_default',
  get_metadef_namespaces: 'rule:metadef_default',
  modify_metadef_namespace: 'rule:metadef_admin',
  add_metadef_namespace: 'rule:metadef_admin',
  delete_metadef_namespace: 'rule:metadef_admin',
  get_metadef_object: 'rule:metadef_default',
  get_metadef_objects: 'rule:metadef_default',
  modify_metadef_object: 'rule:metadef_admin',
  add_metadef_object: 'rule:metadef_admin',
  delete_metadef_object: 'rule:metadef_admin',
  list_metadef_resource_types: 'rule:metadef_default',
  get_metadef_resource_type: 'rule:metadef_default',
  add_metadef_resource_type_association: 'rule:metadef_admin',
  remove_metadef_resource_type_association: 'rule:metadef_admin',
  get_metadef_property: 'rule:metadef_default',
  get_metadef_properties: 'rule:metadef_default',
  modify_metadef_property: 'rule:metadef_admin',
  add_metadef_property: 'rule:metadef_admin',
  remove_metadef_property: 'rule:metadef_admin',
  get_metadef_tag: 'rule:metadef_default',
  get_metadef_tags: 'rule:metadef_default',
  modify_metadef_tag: 'rule:metadef_admin',
  add_metadef_tag: 'rule:metadef_admin',
  add_metadef_tags: 'rule:metadef_admin',
  delete_metadef_tag: 'rule:metadef_admin',
  delete_metadef_tags: 'rule:metadef_admin',
};
