// Music for the film: an audio file uploaded into the project (kind `audio`), named by the merge.
import { api, authFetch, unwrap } from '@/api/client';
import { toApiError } from '@/api/errors';

const TYPES: Record<string, string> = { mp3: 'audio/mpeg', wav: 'audio/wav', m4a: 'audio/mp4', ogg: 'audio/ogg', flac: 'audio/flac' };

/** The content type the server accepts for a music file, from its type or its name. */
export function musicType(file: File): string | undefined {
  if (Object.values(TYPES).includes(file.type)) return file.type;
  return TYPES[file.name.split('.').pop()?.toLowerCase() ?? ''];
}

/** Uploads `file` as the project's music; answers its file id. */
export async function uploadMusic(projectId: string, file: File): Promise<string> {
  const contentType = musicType(file) ?? file.type;
  const target = await unwrap(
    api.POST('/api/v1/storage/upload', {
      body: { project_id: projectId, file_type: 'audio', file_name: file.name, file_size: file.size, content_type: contentType },
    }),
  );
  const url = new URL(target.upload_url, globalThis.location.origin);
  const put = new Request(url, { method: target.upload_method, headers: target.upload_headers, body: file });
  // Our own upload path needs the token; a presigned S3 URL must not get it.
  const response = url.origin === globalThis.location.origin ? await authFetch(put) : await fetch(put);
  if (!response.ok) throw toApiError(await response.json().catch(() => undefined), response.status);
  await unwrap(api.POST('/api/v1/storage/upload/callback', { body: { file_id: target.file_id, upload_status: 'success' } }));
  return target.file_id;
}
