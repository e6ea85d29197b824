// Project reads and writes, with their query keys and hooks.
import { keepPreviousData, queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/api/client';
import type { Project, ProjectListItem } from '@/api/types';
import { jsonBody } from '@/lib/json-body';

export interface ProjectListParams {
  page: number;
  size: number;
  search: string;
  status: 'active' | 'archived' | 'deleted';
}

export const projectKeys = {
  all: ['projects'] as const,
  list: (params: ProjectListParams) => ['projects', 'list', params] as const,
  detail: (id: string) => ['projects', 'detail', id] as const,
  members: (id: string) => ['projects', 'members', id] as const,
};

export async function listProjects(params: ProjectListParams) {
  const query = { page: params.page, size: params.size, status: params.status, ...(params.search ? { search: params.search } : {}) };
  return unwrap(api.GET('/api/v1/projects', { params: { query } }));
}

export function projectListQuery(params: ProjectListParams) {
  return queryOptions({ queryKey: projectKeys.list(params), queryFn: () => listProjects(params), placeholderData: keepPreviousData });
}

export function useProjectList(params: ProjectListParams) {
  return useQuery(projectListQuery(params));
}

export async function getProject(id: string): Promise<Project> {
  const { project } = await unwrap(api.GET('/api/v1/projects/{id}', { params: { path: { id } } }));
  return project as unknown as Project;
}

export function projectQuery(id: string) {
  return queryOptions({ queryKey: projectKeys.detail(id), queryFn: () => getProject(id) });
}

export async function updateProject(id: string, version: number, change: object): Promise<Project> {
  const { project } = await unwrap(
    api.PUT('/api/v1/projects/{id}', { params: { path: { id } }, body: jsonBody({ ...change, version }) }),
  );
  return project as unknown as Project;
}

export interface NewProject {
  title: string;
  target_duration: string;
  language: string;
  visual_style: string;
  image_size: string;
  image_count: number;
  genre?: string;
}

export async function createProject(fields: NewProject): Promise<Project> {
  const { project } = await unwrap(api.POST('/api/v1/projects', { body: fields }));
  return project as unknown as Project;
}

export async function deleteProject(id: string): Promise<void> {
  await unwrap(api.DELETE('/api/v1/projects/{id}', { params: { path: { id } } }));
}

export function useCreateProject() {
  const client = useQueryClient();
  return useMutation({ mutationFn: createProject, onSuccess: () => client.invalidateQueries({ queryKey: projectKeys.all }) });
}

/** Rename, archive or unarchive from the list: a small PUT naming the listed version. */
export function useQuickUpdate() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ item, change }: { item: ProjectListItem; change: object }) => updateProject(item.id, item.version, change),
    onSettled: () => client.invalidateQueries({ queryKey: projectKeys.all }),
  });
}

export async function restoreProject(id: string): Promise<void> {
  await unwrap(api.POST('/api/v1/projects/{id}/restore', { params: { path: { id } } }));
}

export function useRestoreProject() {
  const client = useQueryClient();
  return useMutation({ mutationFn: restoreProject, onSettled: () => client.invalidateQueries({ queryKey: projectKeys.all }) });
}

export function useDeleteProject() {
  const client = useQueryClient();
  return useMutation({ mutationFn: deleteProject, onSettled: () => client.invalidateQueries({ queryKey: projectKeys.all }) });
}
