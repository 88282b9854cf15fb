import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../../core/db/database.js';
import type { ImageTables, MetadefAssociationRow, MetadefItemRow, MetadefNamespaceRow, MetadefResourceTypeRow } from '../tables.js';

export type ItemKind = 'object' | 'property' | 'tag';

/** A whole namespace as a definition file or a create request brings it. */
export interface NamespaceBundle {
  namespace: MetadefNamespaceRow;
  associations: Array<Omit<MetadefAssociationRow, 'namespace'>>;
  items: Array<Omit<MetadefItemRow, 'namespace'>>;
}

/** Metadef rows (SQL only; the rules live in service.ts). */
export class MetadefRecords {
  private readonly db: Kysely<ImageTables>;

  constructor(readonly database: Database) {
    this.db = database.tables<ImageTables>();
  }

  isDuplicate(error: unknown): boolean {
    return this.database.isUniqueViolation(error);
  }

  async listNamespaces(): Promise<MetadefNamespaceRow[]> {
    return this.db.selectFrom('image_metadef_namespace').selectAll().execute();
  }

  async getNamespace(name: string): Promise<MetadefNamespaceRow | undefined> {
    return this.db.selectFrom('image_metadef_namespace').selectAll().where('namespace', '=', name).executeTakeFirst();
  }

  /** Creates a namespace and all it holds in one transaction: all of it, or (on a duplicate) none. */
  async createBundle(bundle: NamespaceBundle): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('image_metadef_namespace').values(bundle.namespace).execute();
      const ns = bundle.namespace.namespace;
      for (const association of bundle.associations) {
        await ensureResourceType(tx, association.resource_type, false, association.created_at);
        await tx.insertInto('image_metadef_association').values({ ...association, namespace: ns }).execute();
      }
      for (const item of bundle.items) await tx.insertInto('image_metadef_item').values({ ...item, namespace: ns }).execute();
    });
  }

  /** Renames carry the namespace's items and associations along. */
  async updateNamespace(oldName: string, row: MetadefNamespaceRow): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('image_metadef_namespace').set(row).where('namespace', '=', oldName).execute();
      if (row.namespace !== oldName) {
        await tx.updateTable('image_metadef_item').set({ namespace: row.namespace }).where('namespace', '=', oldName).execute();
        await tx.updateTable('image_metadef_association').set({ namespace: row.namespace }).where('namespace', '=', oldName).execute();
      }
    });
  }

  async deleteNamespace(name: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('image_metadef_item').where('namespace', '=', name).execute();
      await tx.deleteFrom('image_metadef_association').where('namespace', '=', name).execute();
      await tx.deleteFrom('image_metadef_namespace').where('namespace', '=', name).execute();
    });
  }

  async items(namespace: string, kind: ItemKind): Promise<MetadefItemRow[]> {
    return this.db.selectFrom('image_metadef_item').selectAll().where('namespace', '=', namespace).where('kind', '=', kind).orderBy('name').execute();
  }

  async item(namespace: string, kind: ItemKind, name: string): Promise<MetadefItemRow | undefined> {
    return this.db
      .selectFrom('image_metadef_item')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('kind', '=', kind)
      .where('name', '=', name)
      .executeTakeFirst();
  }

  async addItem(row: MetadefItemRow): Promise<void> {
    await this.db.insertInto('image_metadef_item').values(row).execute();
  }

  /** Replaces an item (possibly renamed); false when it is gone. */
  async replaceItem(kind: ItemKind, oldName: string, row: MetadefItemRow): Promise<boolean> {
    const result = await this.db
      .updateTable('image_metadef_item')
      .set(row)
      .where('namespace', '=', row.namespace)
      .where('kind', '=', kind)
      .where('name', '=', oldName)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteItem(namespace: string, kind: ItemKind, name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('image_metadef_item')
      .where('namespace', '=', namespace)
      .where('kind', '=', kind)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async deleteItems(namespace: string, kind: ItemKind): Promise<void> {
    await this.db.deleteFrom('image_metadef_item').where('namespace', '=', namespace).where('kind', '=', kind).execute();
  }

  /** Replaces all tags of a namespace at once (POST .../tags without X-Openstack-Append). */
  async replaceTags(namespace: string, rows: MetadefItemRow[], append: boolean): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      if (!append) await tx.deleteFrom('image_metadef_item').where('namespace', '=', namespace).where('kind', '=', 'tag').execute();
      for (const row of rows) await tx.insertInto('image_metadef_item').values(row).execute();
    });
  }

  async associations(namespaces?: string[]): Promise<MetadefAssociationRow[]> {
    let q = this.db.selectFrom('image_metadef_association').selectAll();
    if (namespaces) {
      if (namespaces.length === 0) return [];
      q = q.where('namespace', 'in', namespaces);
    }
    return q.orderBy('resource_type').execute();
  }

  async addAssociation(row: MetadefAssociationRow): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await ensureResourceType(tx, row.resource_type, false, row.created_at);
      await tx.insertInto('image_metadef_association').values(row).execute();
    });
  }

  async deleteAssociation(namespace: string, resourceType: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('image_metadef_association')
      .where('namespace', '=', namespace)
      .where('resource_type', '=', resourceType)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async resourceTypes(): Promise<MetadefResourceTypeRow[]> {
    return this.db.selectFrom('image_metadef_resource_type').selectAll().orderBy('name').execute();
  }

  async ensureResourceType(name: string, isProtected: boolean, at: string): Promise<void> {
    await this.db.transaction().execute((tx) => ensureResourceType(tx, name, isProtected, at));
  }
}

/** Resource types come into being when a namespace first names them, as in Glance. */
async function ensureResourceType(tx: Transaction<ImageTables>, name: string, isProtected: boolean, at: string): Promise<void> {
  await tx
    .insertInto('image_metadef_resource_type')
    .values({ name, protected: isProtected ? 1 : 0, created_at: at, updated_at: at })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}
