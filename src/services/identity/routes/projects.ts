import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mapInTurns } from '../../../core/cooperative.js';
import { callerOf } from '../../../core/auth/context.js';
import { queryBool, queryString } from '../../../core/http/body.js';
import type { IdentityContext } from '../context.js';
import { applyInexactFilters } from '../list-filters.js';
import type { Project } from '../model.js';
import { addProjectTag, clearProjectTags, createProject, deleteProject, listProjects, loadProject, loadProjectOrDomain, removeProjectTag, replaceProjectTags, type ProjectFilters, updateProject } from '../projects.js';
import { collection, renderProject } from '../render.js';
import { projectCreate, projectTagsUpdate, projectUpdate, type ProjectBody } from '../schemas.js';
import { authorize, notFoundError, requestUrl } from './common.js';

type ById = { Params: { id: string } };
type ByTag = { Params: { id: string; tag: string } };

/** /v3/projects: HTTP shapes and policy; the rules are in ../projects.ts. */
export function projectRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const target = (p: Project) => ({ target: { project: { id: p.id, domain_id: p.domainId } } });

  app.get('/v3/projects', async (request) => {
    authorize(ctx, request, 'identity:list_projects');
    const projects = await listProjects(ctx, projectFilters(request));
    return collection('projects', applyInexactFilters(request.query, await mapInTurns(projects, (p) => renderProject(p, ctx.baseUrl))), requestUrl(ctx, request));
  });

  app.post<{ Body: { project: ProjectBody } }>('/v3/projects', { schema: { body: projectCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_project');
    const caller = callerOf(request);
    const project = await createProject(ctx, request.body.project, caller.projectDomainId ?? caller.domainId ?? 'default');
    reply.code(201);
    return { project: renderProject(project, ctx.baseUrl) };
  });

  app.get<ById>('/v3/projects/:id', async (request) => {
    const project = await loadProjectOrDomain(ctx, request.params.id);
    authorize(ctx, request, 'identity:get_project', target(project));
    return { project: renderProject(project, ctx.baseUrl) };
  });

  app.patch<ById & { Body: { project: ProjectBody } }>('/v3/projects/:id', { schema: { body: projectUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_project');
    const project = await loadProjectOrDomain(ctx, request.params.id);
    return { project: renderProject(await updateProject(ctx, project, request.body.project), ctx.baseUrl) };
  });

  app.delete<ById>('/v3/projects/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_project');
    await deleteProject(ctx, await loadProjectOrDomain(ctx, request.params.id));
    reply.code(204).send();
  });

  // Project tags: the whole list, or one tag at a time.
  app.get<ById>('/v3/projects/:id/tags', async (request) => {
    const project = await loadProject(ctx, request.params.id);
    authorize(ctx, request, 'identity:list_project_tags', target(project));
    return { tags: project.tags };
  });

  app.put<ById & { Body: { tags: string[] } }>('/v3/projects/:id/tags', { schema: { body: projectTagsUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_project_tags');
    const project = await loadProject(ctx, request.params.id);
    return { tags: await replaceProjectTags(ctx, project, request.body.tags) };
  });

  app.delete<ById>('/v3/projects/:id/tags', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_project_tags');
    await clearProjectTags(ctx, await loadProject(ctx, request.params.id));
    reply.code(204).send();
  });

  app.get<ByTag>('/v3/projects/:id/tags/:tag', async (request, reply) => {
    const project = await loadProject(ctx, request.params.id);
    authorize(ctx, request, 'identity:get_project_tag', target(project));
    if (!project.tags.includes(request.params.tag)) throw notFoundError('project tag', request.params.tag);
    reply.code(204).send();
  });

  app.put<ByTag>('/v3/projects/:id/tags/:tag', async (request, reply) => {
    authorize(ctx, request, 'identity:create_project_tag');
    const project = await loadProject(ctx, request.params.id);
    await addProjectTag(ctx, project, request.params.tag);
    // Keystone answers a created tag with 201 and an empty body.
    reply.code(201).header('location', `${ctx.baseUrl}/projects/${project.id}/tags/${encodeURIComponent(request.params.tag)}`).send();
  });

  app.delete<ByTag>('/v3/projects/:id/tags/:tag', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_project_tag');
    await removeProjectTag(ctx, await loadProject(ctx, request.params.id), request.params.tag);
    reply.code(204).send();
  });
}

/** GET /v3/projects' query: repeated parameters take the first value, tag filters are comma lists. */
function projectFilters(request: FastifyRequest): ProjectFilters {
  const q = request.query;
  const list = (key: string) => queryString(q, key)?.split(',').filter(Boolean);
  const f: ProjectFilters = {};
  const set = <K extends keyof ProjectFilters>(key: K, value: ProjectFilters[K] | undefined) => {
    if (value !== undefined) f[key] = value;
  };
  set('name', queryString(q, 'name'));
  set('domainId', queryString(q, 'domain_id'));
  set('parentId', queryString(q, 'parent_id'));
  set('enabled', queryBool(q, 'enabled'));
  set('isDomain', queryBool(q, 'is_domain'));
  set('tags', list('tags'));
  set('tagsAny', list('tags-any'));
  set('notTags', list('not-tags'));
  set('notTagsAny', list('not-tags-any'));
  return f;
}
