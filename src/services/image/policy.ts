/**
 * Glance's default rules (legacy defaults: visibility checks happen in the image logic,
 * ownership and admin-only actions here).
 */
export const imagePolicyDefaults: Record<string, string> = {
  default: '',
  context_is_admin: 'role:admin',
  admin_or_owner: 'is_admin:True or role:admin or project_id:%(owner)s',
  add_image: '',
  delete_image: 'rule:admin_or_owner',
  get_image: '',
  get_images: '',
  modify_image: 'rule:admin_or_owner',
  publicize_image: 'role:admin',
  communitize_image: '',
  download_image: '',
  upload_image: 'rule:admin_or_owner',
  set_image_location: 'role:admin',
  // Glance's current defaults: an owning project may deactivate its own images.
  deactivate: 'role:admin or project_id:%(owner)s',
  reactivate: 'role:admin or project_id:%(owner)s',
  get_member: '',
  get_members: '',
  add_member: 'rule:admin_or_owner',
  delete_member: 'rule:admin_or_owner',
  modify_member: '',
  add_image_tag: 'rule:admin_or_owner',
  delete_image_tag: 'rule:admin_or_owner',
  stores_info_detail: 'role:admin',
};
