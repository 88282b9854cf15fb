import { mapInTurns } from '../../../core/cooperative.js';
import type { DomainRow, ProjectRow } from '../tables.js';
import type { Domain, Project } from '../model.js';
import { atomically, type IdentityDb, nowIso, parseJson, toBool, toInt } from './db.js';

export interface ProjectFilter {
  name?: string;
  domainId?: string;
  parentId?: string;
  enabled?: boolean;
  ids?: string[];
}

/** Domains and projects. */
export class ResourceStore {
  constructor(private readonly db: IdentityDb) {}

  async createDomain(domain: Domain): Promise<void> {
    await this.db.insertInto('identity_domain').values({ ...domainRow(domain), created_at: nowIso() }).execute();
  }

  async getDomain(id: string): Promise<Domain | undefined> {
    const row = await this.db.selectFrom('identity_domain').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toDomain(row);
  }

  async getDomainByName(name: string): Promise<Domain | undefined> {
    const row = await this.db.selectFrom('identity_domain').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toDomain(row);
  }

  async listDomains(filter: { name?: string; enabled?: boolean } = {}): Promise<Domain[]> {
    let q = this.db.selectFrom('identity_domain').selectAll().orderBy('name');
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    if (filter.enabled !== undefined) q = q.where('enabled', '=', toInt(filter.enabled));
    return (await q.execute()).map(toDomain);
  }

  async updateDomain(domain: Domain): Promise<void> {
    await this.db.updateTable('identity_domain').set(domainRow(domain)).where('id', '=', domain.id).execute();
  }

  async deleteDomain(id: string): Promise<void> {
    await this.db.deleteFrom('identity_domain').where('id', '=', id).execute();
  }

  async createProject(project: Project): Promise<void> {
    await atomically(this.db, async (tx) => {
      await tx.insertInto('identity_project').values({ ...projectRow(project), created_at: nowIso() }).execute();
      if (project.tags.length > 0) {
        await tx
          .insertInto('identity_project_tag')
          .values(project.tags.map((name) => ({ project_id: project.id, name })))
          .execute();
      }
    });
  }

  async getProject(id: string): Promise<Project | undefined> {
    const row = await this.db.selectFrom('identity_project').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return toProject(row, await this.tagsOf([id]));
  }

  async getProjectByName(domainId: string, name: string): Promise<Project | undefined> {
    const row = await this.db
      .selectFrom('identity_project')
      .selectAll()
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) return undefined;
    return toProject(row, await this.tagsOf([row.id]));
  }

  async listProjects(filter: ProjectFilter = {}): Promise<Project[]> {
    let q = this.db.selectFrom('identity_project').selectAll().orderBy('name');
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    if (filter.domainId !== undefined) q = q.where('domain_id', '=', filter.domainId);
    if (filter.parentId !== undefined) q = q.where('parent_id', '=', filter.parentId);
    if (filter.enabled !== undefined) q = q.where('enabled', '=', toInt(filter.enabled));
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    const rows = await q.execute();
    const tags = await this.tagsOf(rows.map((r) => r.id));
    return mapInTurns(rows, (r) => toProject(r, tags));
  }

  async countChildren(projectId: string): Promise<number> {
    const row = await this.db
      .selectFrom('identity_project')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('parent_id', '=', projectId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countProjectsInDomain(domainId: string): Promise<number> {
    const row = await this.db
      .selectFrom('identity_project')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('domain_id', '=', domainId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * The project's row, and its tags only when `tags` says so: an update that does not name
   * tags must not put back a list read before a tag was added meanwhile.
   */
  async updateProject(project: Project, options: { tags: boolean } = { tags: true }): Promise<void> {
    await atomically(this.db, async (tx) => {
      await tx.updateTable('identity_project').set(projectRow(project)).where('id', '=', project.id).execute();
      if (options.tags) await replaceTags(tx, project.id, project.tags);
    });
  }

  /** Replaces a project's tags (requests at once never fail on each other; see replaceTags). */
  async setProjectTags(projectId: string, tags: string[]): Promise<void> {
    await atomically(this.db, (tx) => replaceTags(tx, projectId, tags));
  }

  /** Adds one tag, a row of its own as in Keystone; one the project already has is no error. */
  async addProjectTag(projectId: string, tag: string): Promise<void> {
    await this.db
      .insertInto('identity_project_tag')
      .values({ project_id: projectId, name: tag })
      .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
      .execute();
  }

  /** Removes one tag; false when the project did not have it. */
  async removeProjectTag(projectId: string, tag: string): Promise<boolean> {
    const result = await this.db.deleteFrom('identity_project_tag').where('project_id', '=', projectId).where('name', '=', tag).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async deleteProject(id: string): Promise<void> {
    await atomically(this.db, async (tx) => {
      await tx.deleteFrom('identity_project_tag').where('project_id', '=', id).execute();
      await tx.deleteFrom('identity_project').where('id', '=', id).execute();
    });
  }

  private async tagsOf(projectIds: string[]): Promise<Map<string, string[]>> {
    const tags = new Map<string, string[]>();
    if (projectIds.length === 0) return tags;
    const rows = await this.db
      .selectFrom('identity_project_tag')
      .selectAll()
      .where('project_id', 'in', projectIds)
      .orderBy('name')
      .execute();
    for (const row of rows) {
      const list = tags.get(row.project_id) ?? [];
      list.push(row.name);
      tags.set(row.project_id, list);
    }
    return tags;
  }
}

function domainRow(d: Domain): Omit<DomainRow, 'created_at'> {
  return { id: d.id, name: d.name, description: d.description, enabled: toInt(d.enabled), extra: JSON.stringify(d.extra) };
}

function toDomain(row: DomainRow): Domain {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: toBool(row.enabled),
    extra: parseJson(row.extra, {}),
  };
}

function projectRow(p: Project): Omit<ProjectRow, 'created_at'> {
  return {
    id: p.id,
    name: p.name,
    domain_id: p.domainId,
    parent_id: p.parentId,
    description: p.description,
    enabled: toInt(p.enabled),
    extra: JSON.stringify(p.extra),
  };
}

/**
 * Drops the tags not in the list and adds the missing ones. Replacements at once never fail
 * on each other: a tag another has just added is kept rather than inserted twice, and all
 * insert in the same order, so none waits on another in a cycle.
 */
async function replaceTags(tx: IdentityDb, projectId: string, tags: string[]): Promise<void> {
  let drop = tx.deleteFrom('identity_project_tag').where('project_id', '=', projectId);
  if (tags.length > 0) drop = drop.where('name', 'not in', tags);
  await drop.execute();
  if (tags.length === 0) return;
  await tx
    .insertInto('identity_project_tag')
    .values([...tags].sort().map((name) => ({ project_id: projectId, name })))
    .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
    .execute();
}

function toProject(row: ProjectRow, tags: Map<string, string[]>): Project {
  return {
    id: row.id,
    name: row.name,
    domainId: row.domain_id,
    parentId: row.parent_id,
    description: row.description,
    enabled: toBool(row.enabled),
    tags: tags.get(row.id) ?? [],
    extra: parseJson(row.extra, {}),
  };
}
