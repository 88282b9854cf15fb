import type { Kysely } from 'kysely';
import { mapInTurns } from '../../core/cooperative.js';
import type { Database } from '../../core/db/database.js';
import type { Image, ImageMember, ImageStatus, MemberStatus, Visibility } from './model.js';
import type { ImageRow, ImageTables, ImageTransferColumns } from './tables.js';

/** Which images a caller may see: everything for admins, else by owner, visibility and membership. */
export interface Viewer {
  projectId: string | null;
  isAdmin: boolean;
}

/** Image records, tags and members (SQL only; the rules live in images.ts). */
export class ImageRecords {
  private readonly db: Kysely<ImageTables>;

  constructor(readonly database: Database) {
    this.db = database.tables<ImageTables>();
  }

  async create(image: Image): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('image_image').values(toRow(image)).execute();
      if (image.tags.length > 0) {
        await tx.insertInto('image_tag').values(image.tags.map((value) => ({ image_id: image.id, value }))).execute();
      }
    });
  }

  async get(id: string): Promise<Image | undefined> {
    const row = await this.db.selectFrom('image_image').selectAll().where('id', '=', id).where('status', '!=', 'deleted').executeTakeFirst();
    if (!row) return undefined;
    return toImage(row, await this.tagsOf([id]));
  }

  /** Rows a viewer may list, before the filters that need no SQL. */
  async listVisible(viewer: Viewer, filter: { owner?: string; status?: string; visibility?: Visibility; ids?: string[] }): Promise<Image[]> {
    let q = this.db.selectFrom('image_image').selectAll().where('status', '!=', 'deleted');
    if (filter.owner !== undefined) q = q.where('owner', '=', filter.owner);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.visibility !== undefined) q = q.where('visibility', '=', filter.visibility);
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    if (!viewer.isAdmin) {
      const project = viewer.projectId ?? '';
      q = q.where((eb) =>
        eb.or([
          eb('owner', '=', project),
          eb('visibility', '=', 'public'),
          eb('visibility', '=', 'community'),
          eb.and([
            eb('visibility', '=', 'shared'),
            eb('id', 'in', eb.selectFrom('image_member').select('image_id').where('member_id', '=', project)),
          ]),
        ]),
      );
    }
    const rows = await q.execute();
    const tags = await this.tagsOf(rows.map((r) => r.id));
    return mapInTurns(rows, (r) => toImage(r, tags));
  }

  async update(image: Image): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('image_image').set(toRow(image)).where('id', '=', image.id).execute();
      await tx.deleteFrom('image_tag').where('image_id', '=', image.id).execute();
      if (image.tags.length > 0) {
        await tx.insertInto('image_tag').values(image.tags.map((value) => ({ image_id: image.id, value }))).execute();
      }
    });
  }

  /**
   * Moves an image from one status to another only if it is still in `from`; the guard
   * is what keeps two concurrent uploads from both taking the image.
   */
  async transition(id: string, from: ImageStatus[], to: ImageStatus, extra: Partial<ImageRow & ImageTransferColumns> = {}): Promise<boolean> {
    const result = await this.db
      .updateTable('image_image')
      .set({ ...extra, status: to, updated_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Images whose data was on its way (saving, uploading, importing), with the lease of whoever moves it. */
  async inTransfer(): Promise<Array<{ image: Image; lease: string | null }>> {
    const rows = await this.db.selectFrom('image_image').selectAll().where('status', 'in', ['saving', 'uploading', 'importing']).execute();
    const tags = await this.tagsOf(rows.map((r) => r.id));
    return rows.map((r) => ({ image: toImage(r, tags), lease: r.transfer_lease }));
  }

  /** The lease on an image's data transfer, or null; undefined when there is no such image. */
  async leaseOf(id: string): Promise<string | null | undefined> {
    const row = await this.db.selectFrom('image_image').select('transfer_lease').where('id', '=', id).executeTakeFirst();
    return row?.transfer_lease;
  }

  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('image_tag').where('image_id', '=', id).execute();
      await tx.deleteFrom('image_member').where('image_id', '=', id).execute();
      await tx.deleteFrom('image_image').where('id', '=', id).execute();
    });
  }

  /** Image count and stored bytes of a project, for its quota. */
  async usage(owner: string): Promise<{ count: number; bytes: number }> {
    const row = await this.db
      .selectFrom('image_image')
      .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('size').as('bytes')])
      .where('owner', '=', owner)
      .where('status', '!=', 'deleted')
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), bytes: Number(row.bytes ?? 0) };
  }

  async listMembers(imageId: string): Promise<ImageMember[]> {
    const rows = await this.db.selectFrom('image_member').selectAll().where('image_id', '=', imageId).orderBy('member_id').execute();
    return rows.map(toMember);
  }

  async getMember(imageId: string, memberId: string): Promise<ImageMember | undefined> {
    // No member id holds a NUL (bodies refuse it), and PostgreSQL refuses one in a query.
    if (memberId.includes('\u0000')) return undefined;
    const row = await this.db
      .selectFrom('image_member')
      .selectAll()
      .where('image_id', '=', imageId)
      .where('member_id', '=', memberId)
      .executeTakeFirst();
    return row && toMember(row);
  }

  async addMember(member: ImageMember): Promise<void> {
    await this.db
      .insertInto('image_member')
      .values({
        image_id: member.imageId,
        member_id: member.memberId,
        status: member.status,
        created_at: member.createdAt,
        updated_at: member.updatedAt,
      })
      .execute();
  }

  async setMemberStatus(imageId: string, memberId: string, status: MemberStatus): Promise<void> {
    await this.db
      .updateTable('image_member')
      .set({ status, updated_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') })
      .where('image_id', '=', imageId)
      .where('member_id', '=', memberId)
      .execute();
  }

  async removeMember(imageId: string, memberId: string): Promise<void> {
    await this.db.deleteFrom('image_member').where('image_id', '=', imageId).where('member_id', '=', memberId).execute();
  }

  /** Membership status of a project for many images at once (for list filters). */
  async membershipsOf(memberId: string): Promise<Map<string, MemberStatus>> {
    const rows = await this.db.selectFrom('image_member').select(['image_id', 'status']).where('member_id', '=', memberId).execute();
    return new Map(rows.map((r) => [r.image_id, r.status as MemberStatus]));
  }

  private async tagsOf(ids: string[]): Promise<Map<string, string[]>> {
    const tags = new Map<string, string[]>();
    if (ids.length === 0) return tags;
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.selectFrom('image_tag').selectAll().where('image_id', 'in', ids.slice(i, i + 500)).execute();
      for (const row of rows) tags.set(row.image_id, [...(tags.get(row.image_id) ?? []), row.value]);
    }
    return tags;
  }
}

function toRow(i: Image): ImageRow {
  return {
    id: i.id,
    name: i.name,
    status: i.status,
    visibility: i.visibility,
    protected: i.protected ? 1 : 0,
    os_hidden: i.osHidden ? 1 : 0,
    checksum: i.checksum,
    os_hash_algo: i.osHashAlgo,
    os_hash_value: i.osHashValue,
    owner: i.owner,
    size: i.size,
    virtual_size: i.virtualSize,
    container_format: i.containerFormat,
    disk_format: i.diskFormat,
    min_ram: i.minRam,
    min_disk: i.minDisk,
    store: i.store,
    properties: JSON.stringify(i.properties),
    created_at: i.createdAt,
    updated_at: i.updatedAt,
  };
}

function toImage(row: ImageRow, tags: Map<string, string[]>): Image {
  return {
    id: row.id,
    name: row.name,
    status: row.status as ImageStatus,
    visibility: row.visibility as Visibility,
    protected: row.protected === 1,
    osHidden: row.os_hidden === 1,
    checksum: row.checksum,
    osHashAlgo: row.os_hash_algo,
    osHashValue: row.os_hash_value,
    owner: row.owner,
    size: row.size === null ? null : Number(row.size),
    virtualSize: row.virtual_size === null ? null : Number(row.virtual_size),
    containerFormat: row.container_format,
    diskFormat: row.disk_format,
    minRam: row.min_ram,
    minDisk: row.min_disk,
    store: row.store,
    properties: JSON.parse(row.properties) as Record<string, string>,
    tags: (tags.get(row.id) ?? []).sort(),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toMember(row: { image_id: string; member_id: string; status: string; created_at: string; updated_at: string }): ImageMember {
  return {
    imageId: row.image_id,
    memberId: row.member_id,
    status: row.status as MemberStatus,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
