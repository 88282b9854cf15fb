import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mapInTurns } from '../../../core/cooperative.js';
import { callerOf } from '../../../core/auth/context.js';
import {
  envelope,
  optBool,
  optClearableString,
  optNullableString,
  optString,
  optStringArray,
  queryBool,
  queryString,
  reqString,
} from '../../../core/http/body.js';
import { ApiError, badRequest } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import { checkName, extraAttributes } from '../extras.js';
import type { Project } from '../model.js';
import { collection, renderProject } from '../render.js';
import { authorize, duplicateError, notFoundError, requestUrl } from './common.js';

const KNOWN = ['name', 'domain_id', 'parent_id', 'description', 'enabled', 'tags'];
const TAG_RE = /^[^,/]{1,255}$/;
const MAX_TAGS = 80;

function checkTags(tags: string[]): string[] {
  if (tags.length > MAX_TAGS) throw badRequest(`A project may have at most ${MAX_TAGS} tags.`);
  for (const tag of tags) {
    if (!TAG_RE.test(tag)) throw badRequest(`Invalid tag '${tag.slice(0, 64)}': 1-255 characters without ',' or '/'.`);
  }
  return [...new Set(tags)];
}

export function projectRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const load = async (id: string): Promise<Project> => {
    const project = await ctx.stores.resources.getProject(id);
    if (!project) throw notFoundError('project', id);
    return project;
  };
  const target = (p: Project) => ({ target: { project: { id: p.id, domain_id: p.domainId } } });

  app.get('/v3/projects', async (request) => {
    authorize(ctx, request, 'identity:list_projects');
    return collection('projects', await mapInTurns(await filteredProjects(ctx, request), (p) => renderProject(p, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.post('/v3/projects', async (request, reply) => {
    authorize(ctx, request, 'identity:create_project');
    const body = envelope(request.body, 'project');
    if (optBool(body, 'is_domain') === true) throw new ApiError(400, 'Projects acting as domains are not supported here.');
    const name = checkName(reqString(body, 'name'), 'name', 64);
    const parentId = optNullableString(body, 'parent_id', { max: 64 }) ?? null;
    let domainId = optNullableString(body, 'domain_id', { max: 64 }) ?? null;
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
    domainId ??= callerOf(request).projectDomainId ?? callerOf(request).domainId ?? 'default';
    const domain = await ctx.stores.resources.getDomain(domainId);
    if (!domain) throw badRequest(`Could not find the domain ${domainId}.`);
    const project: Project = {
      id: newHexId(),
      name,
      domainId,
      parentId: parent?.id ?? null,
      description: optClearableString(body, 'description', { max: 65_535 }) ?? '',
      enabled: optBool(body, 'enabled') ?? true,
      tags: checkTags(optStringArray(body, 'tags') ?? []),
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
    reply.code(201);
    return { project: renderProject(project, ctx.baseUrl) };
  });

  app.get<{ Params: { id: string } }>('/v3/projects/:id', async (request) => {
    const project = await load(request.params.id);
    authorize(ctx, request, 'identity:get_project', target(project));
    return { project: renderProject(project, ctx.baseUrl) };
  });

  app.patch<{ Params: { id: string } }>('/v3/projects/:id', async (request) => {
    authorize(ctx, request, 'identity:update_project');
    const project = await load(request.params.id);
    const body = envelope(request.body, 'project');
    for (const fixed of ['id', 'domain_id', 'parent_id', 'is_domain'] as const) {
      const current = { id: project.id, domain_id: project.domainId, parent_id: project.parentId, is_domain: false }[fixed];
      if (body[fixed] !== undefined && body[fixed] !== current) throw badRequest(`The project's ${fixed} cannot be changed.`);
    }
    const name = optString(body, 'name');
    const tags = optStringArray(body, 'tags');
    const updated: Project = {
      ...project,
      name: name !== undefined ? checkName(name, 'name', 64) : project.name,
      description: optClearableString(body, 'description', { max: 65_535 }) ?? project.description,
      enabled: optBool(body, 'enabled') ?? project.enabled,
      tags: tags ? checkTags(tags) : project.tags,
      extra: { ...project.extra, ...extraAttributes(body, KNOWN) },
    };
    if (updated.name !== project.name && (await ctx.stores.resources.getProjectByName(project.domainId, updated.name))) {
      throw duplicateError('project', updated.name);
    }
    await ctx.stores.resources.updateProject(updated, { tags: tags !== undefined });
    if (project.enabled && !updated.enabled) await ctx.revocations.revoke({ projectId: project.id });
    ctx.changed();
    return { project: renderProject(updated, ctx.baseUrl) };
  });

  app.delete<{ Params: { id: string } }>('/v3/projects/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_project');
    const project = await load(request.params.id);
    if ((await ctx.stores.resources.countChildren(project.id)) > 0) {
      throw new ApiError(403, `Cannot delete project ${project.id}: it has child projects.`);
    }
    await ctx.stores.assignments.removeAllFor(project.id);
    await ctx.stores.resources.deleteProject(project.id);
    await ctx.revocations.revoke({ projectId: project.id });
    ctx.changed();
    reply.code(204).send();
  });

  // Project tags: the whole list, or one tag at a time.
  app.get<{ Params: { id: string } }>('/v3/projects/:id/tags', async (request) => {
    const project = await load(request.params.id);
    authorize(ctx, request, 'identity:list_project_tags', target(project));
    return { tags: project.tags };
  });

  app.put<{ Params: { id: string } }>('/v3/projects/:id/tags', async (request) => {
    authorize(ctx, request, 'identity:update_project_tags');
    const project = await load(request.params.id);
    const body = request.body;
    if (typeof body !== 'object' || body === null) throw badRequest('The request body must be a JSON object.');
    const tags = optStringArray(body as Record<string, unknown>, 'tags');
    if (!tags) throw badRequest("Invalid input for field 'tags': it is required.");
    await ctx.stores.resources.setProjectTags(project.id, checkTags(tags));
    ctx.changed();
    return { tags: checkTags(tags) };
  });

  app.delete<{ Params: { id: string } }>('/v3/projects/:id/tags', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_project_tags');
    const project = await load(request.params.id);
    await ctx.stores.resources.setProjectTags(project.id, []);
    ctx.changed();
    reply.code(204).send();
  });

  app.get<{ Params: { id: string; tag: string } }>('/v3/projects/:id/tags/:tag', async (request, reply) => {
    const project = await load(request.params.id);
    authorize(ctx, request, 'identity:get_project_tag', target(project));
    if (!project.tags.includes(request.params.tag)) throw notFoundError('project tag', request.params.tag);
    reply.code(204).send();
  });

  app.put<{ Params: { id: string; tag: string } }>('/v3/projects/:id/tags/:tag', async (request, reply) => {
    authorize(ctx, request, 'identity:create_project_tag');
    const project = await load(request.params.id);
    // Checked with the tags as read; the tag itself is one row, so a tag added meanwhile stays.
    checkTags([...project.tags, request.params.tag]);
    await ctx.stores.resources.addProjectTag(project.id, request.params.tag);
    ctx.changed();
    // Keystone answers a created tag with 201 and an empty body.
    reply.code(201).header('location', `${ctx.baseUrl}/projects/${project.id}/tags/${encodeURIComponent(request.params.tag)}`).send();
  });

  app.delete<{ Params: { id: string; tag: string } }>('/v3/projects/:id/tags/:tag', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_project_tag');
    const project = await load(request.params.id);
    if (!(await ctx.stores.resources.removeProjectTag(project.id, request.params.tag))) throw notFoundError('project tag', request.params.tag);
    ctx.changed();
    reply.code(204).send();
  });
}

async function filteredProjects(ctx: IdentityContext, request: FastifyRequest): Promise<Project[]> {
  const q = request.query;
  const name = queryString(q, 'name');
  const domainId = queryString(q, 'domain_id');
  const parentId = queryString(q, 'parent_id');
  const enabled = queryBool(q, 'enabled');
  const isDomain = queryBool(q, 'is_domain');
  if (isDomain === true) return [];
  let projects = await ctx.stores.resources.listProjects({
    ...(name !== undefined ? { name } : {}),
    ...(domainId !== undefined ? { domainId } : {}),
    ...(parentId !== undefined ? { parentId } : {}),
    ...(enabled !== undefined ? { enabled } : {}),
  });
  const split = (key: string) => queryString(q, key)?.split(',').filter(Boolean);
  const all = split('tags');
  const any = split('tags-any');
  const notAll = split('not-tags');
  const notAny = split('not-tags-any');
  if (all) projects = projects.filter((p) => all.every((t) => p.tags.includes(t)));
  if (any) projects = projects.filter((p) => any.some((t) => p.tags.includes(t)));
  if (notAll) projects = projects.filter((p) => !notAll.every((t) => p.tags.includes(t)));
  if (notAny) projects = projects.filter((p) => !notAny.some((t) => p.tags.includes(t)));
  return projects;
}
