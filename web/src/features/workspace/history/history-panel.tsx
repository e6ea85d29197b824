// The project's document history: each kept version with who made it and when, what the change
// after it did (a summary of the figures), and a way back to it. Restoring saves pending edits
// first and keeps what it replaces, so a restore can itself be undone from here.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { EmptyState, ErrorNote, Spinner } from '@/components/feedback';
import { useI18n, type Translate } from '@/i18n';
import { formatTime } from '@/lib/format';
import { projectKeys } from '@/features/projects/api/projects';
import type { Project } from '@/api/types';
import { useProject } from '../project-context';
import { difference, figuresOf, historyKey, listHistory, restoreRevision, type Figures, type Revision } from './history-api';

function currentFigures(project: Project): Figures {
  return {
    shots: project.shots.length,
    characters: project.script_data?.characters.length ?? 0,
    scenes: project.script_data?.scenes.length ?? 0,
    scriptChars: [...project.raw_script].length,
  };
}

/** "分镜 −2 · 剧本 +120 字": what the change that replaced a version did. */
function summary(t: Translate, change: Figures): string {
  const signed = (n: number) => (n > 0 ? `+${n}` : `${n}`);
  const parts: string[] = [];
  if (change.shots) parts.push(t('history.shots', { n: signed(change.shots) }));
  if (change.characters) parts.push(t('history.characters', { n: signed(change.characters) }));
  if (change.scenes) parts.push(t('history.scenes', { n: signed(change.scenes) }));
  if (change.scriptChars) parts.push(t('history.script', { n: signed(change.scriptChars) }));
  return parts.length > 0 ? parts.join(' · ') : t('history.edits');
}

export function HistoryPanel({ onClose }: { onClose: () => void }) {
  const { t, lang } = useI18n();
  const { project, editor, canEdit } = useProject();
  const client = useQueryClient();
  const history = useQuery({ queryKey: historyKey(project.id), queryFn: () => listHistory(project.id) });
  const [restored, setRestored] = useState<number | null>(null);
  const restore = useMutation({
    mutationFn: async (version: number) => {
      await editor.flush();
      return restoreRevision(project.id, version);
    },
    onSuccess: async (_answer, version) => {
      setRestored(version);
      await client.invalidateQueries({ queryKey: projectKeys.detail(project.id) });
      await client.invalidateQueries({ queryKey: historyKey(project.id) });
    },
  });

  const revisions = history.data?.revisions ?? [];
  const who = (person: Revision['made_by']) => person?.name ?? t('history.generated');
  return (
    <Dialog title={t('history.title')} onClose={onClose} wide>
      <div className="flex flex-col gap-3" data-testid="history-panel">
        <p className="text-sm text-stone-600">{t('history.intro')}</p>
        {restored !== null && (
          <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
            {t('history.restored', { version: restored })}
          </p>
        )}
        {history.isPending ? (
          <Spinner label={t('common.loading')} />
        ) : revisions.length === 0 ? (
          <EmptyState>{t('history.empty')}</EmptyState>
        ) : (
          <ol className="flex flex-col divide-y divide-stone-100 rounded-md border border-stone-200">
            {revisions.map((revision, i) => {
              // The change that replaced this version led to the next newer one (or to now).
              const newer = i === 0 ? currentFigures(project) : figuresOf(revisions[i - 1]);
              return (
                <li key={revision.version} className="flex flex-wrap items-center gap-x-4 gap-y-1 px-3 py-2" data-testid="revision">
                  <div className="mr-auto min-w-0">
                    <p className="text-sm font-medium">
                      {t('history.version', { version: revision.version })} · {who(revision.made_by)} · {formatTime(revision.made_at, lang)}
                    </p>
                    <p className="text-xs text-stone-500">
                      {t('history.figures', { shots: revision.shot_count, characters: revision.character_count, chars: revision.script_chars })}
                    </p>
                    <p className="text-xs text-stone-500" data-testid="revision-change">
                      {t('history.replaced', { who: who(revision.replaced_by), time: formatTime(revision.replaced_at, lang) })}
                      {summary(t, difference(figuresOf(revision), newer))}
                    </p>
                  </div>
                  {canEdit && (
                    <Button size="sm" disabled={restore.isPending} onClick={() => restore.mutate(revision.version)}>
                      {t('history.restore')}
                    </Button>
                  )}
                </li>
              );
            })}
          </ol>
        )}
        <ErrorNote error={history.error ?? restore.error} />
      </div>
    </Dialog>
  );
}
