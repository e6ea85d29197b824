// Import of the old browser app's export file: the report lists stored, pending (downloading
// in the background, shown with live task progress) and missing assets per project.
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { authFetch } from '@/api/client';
import { toApiError } from '@/api/errors';
import type { ImportReport } from '@/api/types';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { ErrorNote, ProgressBar } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { FINISHED, useTasks } from '@/features/tasks/task-store';

async function importLegacy(file: File): Promise<ImportReport> {
  const form = new FormData();
  form.append('file', file);
  // Multipart goes through the raw fetch: the generated client has no schema for this body.
  const response = await authFetch(new Request('/api/v1/import/legacy', { method: 'POST', body: form, credentials: 'same-origin' }));
  const body = await response.json().catch(() => null);
  if (!response.ok) throw toApiError(body, response.status);
  return (body as { data: ImportReport }).data;
}

function PendingProgress({ projectId }: { projectId: string }) {
  const tasks = useTasks().filter((task) => task.project_id === projectId && task.kind === 'import_asset');
  if (tasks.length === 0) return null;
  const done = tasks.filter((task) => FINISHED.has(task.status)).length;
  const mean = tasks.reduce((sum, task) => sum + (FINISHED.has(task.status) ? 100 : task.progress), 0) / tasks.length;
  return (
    <div className="flex items-center gap-2 text-xs text-stone-500">
      <ProgressBar value={mean} />
      <span>
        {done}/{tasks.length}
      </span>
    </div>
  );
}

export function ImportDialog({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const run = useMutation({ mutationFn: importLegacy, onSuccess: () => client.invalidateQueries({ queryKey: ['projects'] }) });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (file) run.mutate(file);
  };

  return (
    <Dialog title={t('import.title')} onClose={onClose} wide>
      {!run.data ? (
        <form className="flex flex-col gap-4" onSubmit={submit}>
          <p className="text-sm text-stone-600">{t('import.hint')}</p>
          <label className="text-sm">
            <span className="mb-1 block text-xs font-medium text-stone-600">{t('import.file')}</span>
            <input type="file" accept="application/json,.json" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </label>
          <ErrorNote error={run.error} />
          <div className="flex justify-end gap-2">
            <Button onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" variant="primary" disabled={!file || run.isPending}>
              {t('import.start')}
            </Button>
          </div>
        </form>
      ) : (
        <div className="flex flex-col gap-4" data-testid="import-report">
          <p className="font-medium">{t('import.done', { n: run.data.projects.length })}</p>
          {run.data.projects.map((p) => (
            <section key={p.id} className="rounded-md border border-stone-200 p-3 text-sm">
              <Link to={`/projects/${p.id}/script`} className="font-semibold text-amber-700 hover:underline">
                {p.title}
              </Link>
              <p className="text-xs text-stone-600">
                {t('import.imported', { n: p.assets.imported })} · {t('import.pending', { n: p.assets.pending.length })}
              </p>
              <PendingProgress projectId={p.id} />
              <h4 className="mt-2 text-xs font-medium text-stone-600">{t('import.missing')}</h4>
              {p.assets.missing.length === 0 ? (
                <p className="text-xs text-stone-500">{t('import.noMissing')}</p>
              ) : (
                <ul className="list-disc pl-5 text-xs text-red-700">
                  {p.assets.missing.map((m) => (
                    <li key={m.slot}>
                      <code>{m.slot}</code> — {m.source}
                      {m.reason ? ` (${m.reason})` : ''}
                    </li>
                  ))}
                </ul>
              )}
            </section>
          ))}
          <div className="flex justify-end">
            <Button variant="primary" onClick={onClose}>
              {t('common.close')}
            </Button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
