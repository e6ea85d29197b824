// Files the API answers to a signed-in person only (CSV, subtitles, timelines): fetched with the
// token, then handed to the browser as a download. An error answer is raised, never saved.
import { authFetch } from './client';
import { toApiError } from './errors';

export async function downloadAuthed(path: string, fileName: string): Promise<void> {
  const response = await authFetch(new Request(new URL(path, globalThis.location.origin)));
  if (!response.ok) throw toApiError(await response.json().catch(() => undefined), response.status);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = fileName;
  link.click();
  URL.revokeObjectURL(link.href);
}
