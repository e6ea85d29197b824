// Starting generations. Each answers a task at once (202); the task is tracked with the slot it
// is for, so the slot can show its progress, and the project is reloaded because the server
// marked the slot `generating` in the same step.
import { api, unwrap } from '@/api/client';
import type { Target, Task } from '@/api/types';
import { slotOfTarget, taskStore } from '@/features/tasks/task-store';

export function slotKey(target: Target): string {
  return slotOfTarget(target) ?? `${target.type}`;
}

export const clipSlot = (shotId: string) => `clip:${shotId}`;
export const voiceSlot = (shotId: string) => `voice:${shotId}`;
export const batchSlot = (kind: BatchKind) => `batch:${kind}`;

function tracked(task: Task, slot?: string): Task {
  taskStore.track(task, slot);
  return task;
}

export async function generateImage(projectId: string, target: Target): Promise<Task> {
  const { task } = await unwrap(api.POST('/api/v1/ai/image/generate', { body: { project_id: projectId, target } }));
  return tracked(task, slotKey(target));
}

export async function generateClip(projectId: string, shotId: string, duration?: number): Promise<Task> {
  const { task } = await unwrap(
    api.POST('/api/v1/ai/video/generate', { body: { project_id: projectId, shot_id: shotId, ...(duration ? { duration } : {}) } }),
  );
  return tracked(task, clipSlot(shotId));
}

export type BatchKind = 'images' | 'keyframes' | 'clips' | 'voices';

export interface BatchOptions {
  /** Only the slots whose chosen take is stale. */
  stale?: boolean;
  /** Past a monthly budget, queue what fits instead of nothing. */
  fitBudget?: boolean;
}

/** Everything missing of a kind; with `shotIds`, every frame or clip of those shots, done or not. */
export async function generateBatch(projectId: string, kind: BatchKind, shotIds?: string[], options: BatchOptions = {}): Promise<Task> {
  const body = {
    project_id: projectId,
    ...(shotIds ? { shot_ids: shotIds } : {}),
    ...(options.stale ? { stale: true } : {}),
    ...(options.fitBudget ? { fit_budget: true } : {}),
  };
  const { task } = await unwrap(api.POST('/api/v1/ai/batch/{kind}', { params: { path: { kind } }, body }));
  return tracked(task, batchSlot(kind));
}

export async function parseScript(projectId: string, rawScript: string): Promise<Task> {
  const { task } = await unwrap(api.POST('/api/v1/ai/script/parse', { body: { project_id: projectId, raw_script: rawScript } }));
  return tracked(task, 'script:parse');
}

export async function writeScript(projectId: string, idea: string, genre: string, duration: string): Promise<Task> {
  const { task } = await unwrap(
    api.POST('/api/v1/ai/script/generate', {
      body: { project_id: projectId, idea, genre: genre || null, duration: duration || null },
    }),
  );
  return tracked(task, 'script:generate');
}

/** Speaks a shot's dialogue, each line in its speaker's voice. */
export async function generateVoice(projectId: string, shotId: string): Promise<Task> {
  const { task } = await unwrap(api.POST('/api/v1/ai/speech/generate', { body: { project_id: projectId, shot_id: shotId } }));
  return tracked(task, voiceSlot(shotId));
}

export interface MergeOptions {
  /** An audio file of the project laid under the film. */
  musicFileId?: string;
  /** Draw the subtitles into the pictures. */
  burnSubtitles?: boolean;
}

export async function mergeFilm(projectId: string, shotIds: string[], options: MergeOptions = {}): Promise<Task> {
  const body = {
    project_id: projectId,
    shot_ids: shotIds,
    ...(options.musicFileId ? { music_file_id: options.musicFileId } : {}),
    ...(options.burnSubtitles ? { burn_subtitles: true } : {}),
  };
  const { task } = await unwrap(api.POST('/api/v1/ai/video/merge', { body }));
  return tracked(task, 'film:merge');
}

export async function exportArchive(projectId: string): Promise<Task> {
  const { task } = await unwrap(api.POST('/api/v1/projects/{id}/export', { params: { path: { id: projectId } }, body: {} }));
  return tracked(task, 'film:archive');
}

export async function fileUrl(fileId: string): Promise<string> {
  const { file } = await unwrap(api.GET('/api/v1/storage/url/{file_id}', { params: { path: { file_id: fileId } } }));
  return file.url;
}
