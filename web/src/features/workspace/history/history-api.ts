// The document history of a project: its kept earlier versions and restoring one.
import { api, unwrap } from '@/api/client';
import type { components } from '@/api/schema';

export type Revision = components['schemas']['RevisionView'];
export type RevisionList = components['schemas']['RevisionsView'];

export const historyKey = (projectId: string) => ['projects', 'history', projectId] as const;

export function listHistory(projectId: string): Promise<RevisionList> {
  return unwrap(api.GET('/api/v1/projects/{id}/history', { params: { path: { id: projectId } } }));
}

export function restoreRevision(projectId: string, version: number) {
  return unwrap(
    api.POST('/api/v1/projects/{id}/history/{version}/restore', { params: { path: { id: projectId, version: String(version) } } }),
  );
}

/** The figures of a state of the documents, to compare one with the next. */
export interface Figures {
  shots: number;
  characters: number;
  scenes: number;
  scriptChars: number;
}

export function figuresOf(revision: Revision): Figures {
  return { shots: revision.shot_count, characters: revision.character_count, scenes: revision.scene_count, scriptChars: revision.script_chars };
}

/** What changed from `older` to `newer`, field by field (zero where nothing did). */
export function difference(older: Figures, newer: Figures): Figures {
  return {
    shots: newer.shots - older.shots,
    characters: newer.characters - older.characters,
    scenes: newer.scenes - older.scenes,
    scriptChars: newer.scriptChars - older.scriptChars,
  };
}
