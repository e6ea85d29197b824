// Import of the old browser app's export file: the report lists stored, pending (downloading
// in the background, shown with live task progress) and missing assets per project; a download
// that fails afterwards joins the missing ones with its reason.
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

type AssetReport = ImportReport['projects'][number]['assets']['missing'][number];

/**
 * The pending downloads of one imported project as they stand now: each is followed on the live
 * feed by its task, so one that fails afterwards moves to the missing list with its reason.
 */
function useDownloads(pending: AssetReport[]) {
  const tasks = useTasks();
  const of = (asset: AssetReport) => (asset.task_id ? tasks.find((task) => task.id === asset.task_id) : undefined);
  const failed = pending.filter((asset) => of(asset)?.status === 'failed' || of(asset)?.status === 'cancelled');
  const stored = pending.filter((asset) => of(asset)?.status === 'completed');
  const waiting = pending.length - failed.length - stored.length;
  const progress =
    pending.length === 0
      ? 100
      : pending.reduce((sum, asset) => {
          const task = of(asset);
          return sum + (task && FINISHED.has(task.status) ? 100 : (task?.progress ?? 0));
        }, 0) / pending.length;
  return { failed: failed.map((asset) => ({ asset, error: of(asset)?.error })), stored: stored.length, waiting, progress };
}

function ProjectReport({ report }: { report: ImportReport['projects'][number] }) {
  const { t } = useI18n();
  const { assets } = report;
  const downloads = useDownloads(assets.pending);
  const missing = [
    ...assets.missing.map((asset) => ({ asset, reason: asset.reason })),
    ...downloads.failed.map(({ asset, error }) => ({ asset, reason: error ? t('import.downloadFailed', { why: error.message }) : undefined })),
  ];
  return (
    <section className="rounded-md border border-stone-200 p-3 text-sm" data-testid="import-project">
      <Link to={`/projects/${report.id}/script`} className="font-semibold text-amber-700 hover:underline">
        {report.title}
      </Link>
      <p className="text-xs text-stone-600" data-testid="import-counts">
        {t('import.imported', { n: assets.imported + downloads.stored })}
        {downloads.waiting > 0 && ` · ${t('import.pending', { n: downloads.waiting })}`}
        {missing.length > 0 && ` · ${t('import.missingCount', { n: missing.length })}`}
      </p>
      {downloads.waiting > 0 && <ProgressBar value={downloads.progress} label={t('import.pending', { n: downloads.waiting })} />}
      <h4 className="mt-2 text-xs font-medium text-stone-600">{t('import.missing')}</h4>
      {missing.length === 0 ? (
        <p className="text-xs text-stone-500">{downloads.waiting > 0 ? t('import.stillDownloading') : t('import.noMissing')}</p>
      ) : (
        <ul className="list-disc pl-5 text-xs text-red-700" data-testid="import-missing">
          {missing.map(({ asset, reason }) => (
            <li key={asset.slot}>
              <code>{asset.slot}</code> — {asset.source}
              {reason ? ` (${reason})` : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
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
            <ProjectReport key={p.id} report={p} />
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
