// Every asset as one zip: an export task whose result names a file, fetched by a fresh link.
import { useEffect, useState } from 'react';
import { Button } from '@/components/button';
import { ErrorNote, ProgressBar } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { exportArchive, fileUrl } from '../generation';
import { useLatestSlotTask } from '../use-slot-task';

export function ArchivePanel() {
  const { t } = useI18n();
  const { project } = useProject();
  const task = useLatestSlotTask('film:archive');
  const [error, setError] = useState<unknown>(null);
  const [link, setLink] = useState<string | null>(null);
  const fileId = task?.status === 'completed' ? (task.result as { file_id?: string } | null)?.file_id : undefined;

  useEffect(() => {
    if (!fileId) return;
    fileUrl(fileId).then(setLink, setError);
  }, [fileId]);

  const start = async () => {
    setError(null);
    setLink(null);
    try {
      await exportArchive(project.id);
    } catch (cause) {
      setError(cause);
    }
  };
  const running = task && (task.status === 'pending' || task.status === 'running');

  return (
    <section className="flex flex-col gap-2 rounded-lg border border-stone-200 bg-white p-4">
      <div className="flex items-center gap-3">
        <Button disabled={!!running} onClick={start}>
          {t('export.archive')}
        </Button>
        {link && (
          <a href={link} download={`${project.title}.zip`} className="text-sm font-medium text-amber-700 hover:underline" data-testid="archive-link">
            ↓ {t('export.archiveReady')}
          </a>
        )}
      </div>
      {running && <ProgressBar value={task.progress} label={t('export.archive')} />}
      <ErrorNote error={error ?? (task?.status === 'failed' ? task.error : null)} />
    </section>
  );
}
