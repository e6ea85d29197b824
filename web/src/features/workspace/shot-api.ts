// JSON merge patches of one shot or one keyframe: no whole-document version is needed, so they
// do not clash with generations writing into other slots meanwhile.
import { api, unwrap } from '@/api/client';
import type { Keyframe, Shot } from '@/api/types';
import { jsonBody } from '@/lib/json-body';

export async function patchShot(projectId: string, shotId: string, patch: Partial<Shot> | Record<string, unknown>) {
  return unwrap(api.PATCH('/api/v1/projects/{id}/shots/{shot_id}', { params: { path: { id: projectId, shot_id: shotId } }, body: jsonBody(patch) }));
}

export async function patchKeyframe(projectId: string, shotId: string, keyframeId: string, patch: Partial<Keyframe> | Record<string, unknown>) {
  return unwrap(
    api.PATCH('/api/v1/projects/{id}/shots/{shot_id}/keyframes/{keyframe_id}', {
      params: { path: { id: projectId, shot_id: shotId, keyframe_id: keyframeId } },
      body: jsonBody(patch),
    }),
  );
}

export async function deleteFile(fileId: string) {
  return unwrap(api.DELETE('/api/v1/storage/file/{file_id}', { params: { path: { file_id: fileId } } }));
}
