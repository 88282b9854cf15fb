/** Glance's tables (see identity/tables.ts for the portable-types conventions). */
export interface ImageRow {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  protected: number;
  os_hidden: number;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  owner: string | null;
  size: number | null;
  virtual_size: number | null;
  container_format: string | null;
  disk_format: string | null;
  min_ram: number;
  min_disk: number;
  /** The store holding the data, e.g. `file`; null while there is none. */
  store: string | null;
  /** Custom properties (string values), as JSON text. */
  properties: string;
  created_at: string;
  updated_at: string;
}

/** Columns of image_image that are bookkeeping, not image attributes. */
export interface ImageTransferColumns {
  /** The process moving the image's data right now (transfers.ts), or null. */
  transfer_lease: string | null;
}

export interface ImageTagRow {
  image_id: string;
  value: string;
}

export interface ImageMemberRow {
  image_id: string;
  member_id: string;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface MetadefNamespaceRow {
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: string;
  protected: number;
  owner: string;
  created_at: string;
  updated_at: string;
}

/** An object, property or tag of a namespace; `body` is its JSON without name and times. */
export interface MetadefItemRow {
  namespace: string;
  kind: string;
  name: string;
  body: string;
  created_at: string;
  updated_at: string;
}

export interface MetadefResourceTypeRow {
  name: string;
  protected: number;
  created_at: string;
  updated_at: string;
}

export interface MetadefAssociationRow {
  namespace: string;
  resource_type: string;
  prefix: string | null;
  properties_target: string | null;
  created_at: string;
  updated_at: string;
}

export interface ImageTables {
  image_image: ImageRow & ImageTransferColumns;
  image_tag: ImageTagRow;
  image_member: ImageMemberRow;
  image_metadef_namespace: MetadefNamespaceRow;
  image_metadef_item: MetadefItemRow;
  image_metadef_resource_type: MetadefResourceTypeRow;
  image_metadef_association: MetadefAssociationRow;
}
