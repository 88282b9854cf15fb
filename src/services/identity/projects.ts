import { badRequest, ApiError } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { duplicateError, notFoundError } from './errors.js';
import { checkName, extraAttributes } from './extras.js';
import { createDomain, deleteDomain, updateDomain } from './domains.js';
import type { Domain, Project } from './model.js';
import type { ProjectBody } from './schemas.js';

/** Keystone's project rules: hierarchy, domains, names unique per domain, tags, revocation on disable. */

const KNOWN = ['name', 'domain_id', 'parent_id', 'description', 'enabled', 'tags'];
const TAG_RE = /^[^,/]{1,255}$/;
const MAX_TAGS = 80;

/** Keystone's tag rules (1-255 characters, no ',' or '/', at most 80); duplicates fold into one. */
export function checkTags(tags: string[]): string[] {
  if (tags.length > MAX_TAGS) throw badRequest(`A project may have at most ${MAX_TAGS} tags.`);
  for (const tag of tags) {
    if (!TAG_RE.test(tag)) throw badRequest(`Invalid tag '${tag.slice(0, 64)}': 1-255 characters without ',' or '/'.`);
  }
  return [...new Set(tags)];
}

export async function loadProject(ctx: IdentityContext, id: string): Promise<Project> {
  const project = await ctx.stores.resources.getProject(id);
  if (!project) throw notFoundError('project', id);
  return project;
}

/**
 * A project, or a domain seen as the project acting as it: in Keystone every domain is a
 * project with is_domain, which /v3/projects shows, changes and deletes (as a domain).
 */
export async function loadProjectOrDomain(ctx: IdentityContext, id: string): Promise<Project> {
  const project = await ctx.stores.resources.getProject(id);
  if (project) return project;
  const domain = await ctx.stores.resources.getDomain(id);
  if (!domain) throw notFoundError('project', id);
  return domainAsProject(domain);
}

function domainAsProject(d: Domain): Project {
  return { id: d.id, name: d.name, domainId: d.id, parentId: null, description: d.description, enabled: d.enabled, tags: [], extra: d.extra, isDomain: true };
}

/**
 * A new project under its parent (a project, or a domain named as parent), in the parent's
 * domain, else the named one, else `callerDomainId` (the domain of the caller's token).
 */
export async function createProject(ctx: IdentityContext, body: ProjectBody, callerDomainId: string): Promise<Project> {
  if (body.is_domain === true) {
    // A project acting as a domain is a domain: it has no domain or parent of its own.
    if (body.parent_id || body.domain_id) throw badRequest('A project acting as a domain has no domain_id or parent_id.');
    const domain = await createDomain(ctx, {
      name: body.name ?? '',
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      ...extraAttributes(body, KNOWN),
    });
    return domainAsProject(domain);
  }
  const name = checkName(body.name ?? '', 'name', 64);
  const parentId = body.parent_id ?? null;
  let domainId = body.domain_id ?? null;
  let parent: Project | undefined;
  if (parentId) {
    parent = await ctx.stores.resources.getProject(parentId);
    if (!parent) {
      const asDomain = await ctx.stores.resources.getDomain(parentId);
      if (!asDomain) throw badRequest(`Could not find the parent project ${parentId}.`);
      domainId ??= asDomain.id;
    } else {
      if (domainId && domainId !== parent.domainId) throw badRequest('A project must be in the domain of its parent.');
      domainId = parent.domainId;
    }
  }
  domainId ??= callerDomainId;
  const domain = await ctx.stores.resources.getDomain(domainId);
  if (!domain) throw badRequest(`Could not find the domain ${domainId}.`);
  const project: Project = {
    id: newHexId(),
    name,
    domainId,
    parentId: parent?.id ?? null,
    description: body.description ?? '',
    enabled: body.enabled ?? true,
    tags: checkTags(body.tags ?? []),
    extra: extraAttributes(body, KNOWN),
  };
  if (await ctx.stores.resources.getProjectByName(domainId, name)) throw duplicateError('project', name);
  try {
    await ctx.stores.resources.createProject(project);
  } catch (error) {
    if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('project', name);
    throw error;
  }
  ctx.changed();
  return project;
}

/** Changes what may change; its id, domain, parent and is_domain stay. Disabling revokes its tokens. */
export async function updateProject(ctx: IdentityContext, project: Project, body: ProjectBody): Promise<Project> {
  for (const fixed of ['id', 'domain_id', 'parent_id', 'is_domain'] as const) {
    const current = project.isDomain
      ? { id: project.id, domain_id: null, parent_id: null, is_domain: true }[fixed]
      : { id: project.id, domain_id: project.domainId, parent_id: project.parentId, is_domain: false }[fixed];
    if (body[fixed] !== undefined && body[fixed] !== current) throw badRequest(`The project's ${fixed} cannot be changed.`);
  }
  if (project.isDomain) {
    const domain = await ctx.stores.resources.getDomain(project.id);
    if (!domain) throw notFoundError('project', project.id);
    const { name, description, enabled } = body;
    return domainAsProject(await updateDomain(ctx, domain, { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}), ...(enabled !== undefined ? { enabled } : {}) }));
  }
  const updated: Project = {
    ...project,
    name: body.name !== undefined ? checkName(body.name, 'name', 64) : project.name,
    description: body.description === undefined ? project.description : (body.description ?? ''),
    enabled: body.enabled ?? project.enabled,
    tags: body.tags ? checkTags(body.tags) : project.tags,
    extra: { ...project.extra, ...extraAttributes(body, KNOWN) },
  };
  if (updated.name !== project.name && (await ctx.stores.resources.getProjectByName(project.domainId, updated.name))) {
    throw duplicateError('project', updated.name);
  }
  await ctx.stores.resources.updateProject(updated, { tags: body.tags !== undefined });
  if (project.enabled && !updated.enabled) await ctx.revocations.revoke({ projectId: project.id });
  ctx.changed();
  return updated;
}

/** A project without children goes with its role assignments and its tokens. */
export async function deleteProject(ctx: IdentityContext, project: Project): Promise<void> {
  if (project.isDomain) {
    const domain = await ctx.stores.resources.getDomain(project.id);
    if (!domain) throw notFoundError('project', project.id);
    return deleteDomain(ctx, domain);
  }
  if ((await ctx.stores.resources.countChildren(project.id)) > 0) {
    throw new ApiError(403, `Cannot delete project ${project.id}: it has child projects.`);
  }
  await ctx.stores.assignments.removeAllFor(project.id);
  await ctx.stores.resources.deleteProject(project.id);
  await ctx.revocations.revoke({ projectId: project.id });
  ctx.changed();
}

export async function replaceProjectTags(ctx: IdentityContext, project: Project, tags: string[]): Promise<string[]> {
  const checked = checkTags(tags);
  await ctx.stores.resources.setProjectTags(project.id, checked);
  ctx.changed();
  return checked;
}

export async function clearProjectTags(ctx: IdentityContext, project: Project): Promise<void> {
  await ctx.stores.resources.setProjectTags(project.id, []);
  ctx.changed();
}

export async function addProjectTag(ctx: IdentityContext, project: Project, tag: string): Promise<void> {
  // Checked with the tags as read; the tag itself is one row, so a tag added meanwhile stays.
  checkTags([...project.tags, tag]);
  await ctx.stores.resources.addProjectTag(project.id, tag);
  ctx.changed();
}

export async function removeProjectTag(ctx: IdentityContext, project: Project, tag: string): Promise<void> {
  if (!(await ctx.stores.resources.removeProjectTag(project.id, tag))) throw notFoundError('project tag', tag);
  ctx.changed();
}

/** GET /v3/projects' filters: the stored ones, then Keystone's tag filters (all, any, not all, not any). */
export interface ProjectFilters {
  name?: string;
  domainId?: string;
  parentId?: string;
  enabled?: boolean;
  isDomain?: boolean;
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  notTagsAny?: string[];
}

export async function listProjects(ctx: IdentityContext, f: ProjectFilters): Promise<Project[]> {
  if (f.isDomain === true) {
    // The projects acting as domains are the domains; they have no parent, domain or tags.
    if (f.parentId !== undefined || f.domainId !== undefined || f.tags || f.tagsAny) return [];
    const domains = await ctx.stores.resources.listDomains({ ...(f.name !== undefined ? { name: f.name } : {}), ...(f.enabled !== undefined ? { enabled: f.enabled } : {}) });
    return domains.map(domainAsProject);
  }
  let projects = await ctx.stores.resources.listProjects({
    ...(f.name !== undefined ? { name: f.name } : {}),
    ...(f.domainId !== undefined ? { domainId: f.domainId } : {}),
    ...(f.parentId !== undefined ? { parentId: f.parentId } : {}),
    ...(f.enabled !== undefined ? { enabled: f.enabled } : {}),
  });
  const { tags: all, tagsAny: any, notTags: notAll, notTagsAny: notAny } = f;
  if (all) projects = projects.filter((p) => all.every((t) => p.tags.includes(t)));
  if (any) projects = projects.filter((p) => any.some((t) => p.tags.includes(t)));
  if (notAll) projects = projects.filter((p) => !notAll.every((t) => p.tags.includes(t)));
  if (notAny) projects = projects.filter((p) => !notAny.some((t) => p.tags.includes(t)));
  return projects;
}
