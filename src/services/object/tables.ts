/** Swift's tables: accounts (metadata only), containers (with their counts) and objects. */
export interface ObjectAccountRow {
  account: string;
  /** User and system metadata, as JSON text (header name -> value). */
  metadata: string;
  created_at: string;
}

export interface ObjectContainerRow {
  account: string;
  name: string;
  metadata: string;
  /** Swift's X-Timestamp of the container's creation. */
  created_at: string;
  /** When the container's listing last changed (Last-Modified), an X-Timestamp too. */
  updated_at: string;
  object_count: number;
  bytes_used: number;
}

export interface ObjectObjectRow {
  account: string;
  container: string;
  name: string;
  /** The size listings and HEAD report (a static large object's: its segments' total). */
  size: number;
  /** The ETag listings report (md5 of the bytes; a static large object's: of its segments' etags). */
  etag: string;
  content_type: string;
  /** X-Timestamp of this version. */
  created_at: string;
  /** Object metadata and kept headers (Content-Encoding, X-Object-Manifest, ...), JSON text. */
  metadata: string;
  /** The name of the file holding this version's bytes (or an SLO's manifest). */
  file: string;
  /** 1 when the file is a static large object's manifest. */
  slo: number;
  /** Unix seconds after which the object is gone (X-Delete-At), or null. */
  delete_at: number | null;
}

export interface ObjectTables {
  object_account: ObjectAccountRow;
  object_container: ObjectContainerRow;
  object_object: ObjectObjectRow;
}
