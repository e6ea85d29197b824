// Every asset as one zip: an export task whose result names a file, fetched by a fresh link.
import { useEffect, useRef, useState } from 'react';
import { Button } from '@/components/button';
import { ErrorNote, ProgressBar } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { exportArchive, fileUrl } from '../generation';
import { useLatestSlotTask } from '../use-slot-task';

export function ArchivePanel() {
  const { t } = useI18n();
  const { project, canEdit } = useProject();
  // The archive downloads by itself when the export this page started is ready.
  const requested = useRef(false);
  const anchor = useRef<HTMLAnchorElement>(null);
  const task = useLatestSlotTask('film:archive');
  const [error, setError] = useState<unknown>(null);
  const [link, setLink] = useState<string | null>(null);
  const fileId = task?.status === 'completed' ? (task.result as { file_id?: string } | null)?.file_id : undefined;

  useEffect(() => {
    if (!fileId) return;
    fileUrl(fileId).then(setLink, setError);
  }, [fileId]);

  useEffect(() => {
    if (!link || !requested.current) return;
    requested.current = false;
    anchor.current?.click();
  }, [link]);

  const start = async () => {
    setError(null);
    setLink(null);
    try {
      requested.current = true;
      await exportArchive(project.id);
    } catch (cause) {
      requested.current = false;
      setError(cause);
    }
  };
  const running = task && (task.status === 'pending' || task.status === 'running');

  return (
    <section className="flex flex-col gap-2 rounded-lg border border-stone-200 bg-white p-4">
      <div className="flex items-center gap-3">
        <Button disabled={!!running || !canEdit} onClick={start} aria-describedby={canEdit ? undefined : 'archive-viewer-note'}>
          {t('export.archive')}
        </Button>
        {link && (
          <a ref={anchor} href={link} download={`${project.title}.zip`} className="text-sm font-medium text-amber-700 hover:underline" data-testid="archive-link">
            ↓ {t('export.archiveReady')}
          </a>
        )}
      </div>
      {!canEdit && (
        <p id="archive-viewer-note" className="text-xs text-stone-500">
          {t('export.archiveViewer')}
        </p>
      )}
      {running && <ProgressBar value={task.progress} label={t('export.archive')} remainingSecs={task.remainingSecs} />}
      <ErrorNote error={error ?? (task?.status === 'failed' ? task.error : null)} />
    </section>
  );
}
