// The script text: written, pasted or written from an idea, then parsed into documents.
import { useState } from 'react';
import { Button } from '@/components/button';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { TextArea, TextField } from '@/components/field';
import { ErrorNote, ProgressBar } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { parseScript, writeScript } from '../generation';
import { useLatestSlotTask, useSlotTask } from '../use-slot-task';

export function RawScriptPanel() {
  const { t } = useI18n();
  const { project, change, canEdit, editor, reload } = useProject();
  const [error, setError] = useState<unknown>(null);
  const [idea, setIdea] = useState('');
  const [genre, setGenre] = useState('');
  const [ideaOpen, setIdeaOpen] = useState(false);
  // Parsing replaces the parsed documents and writing replaces the script: asked first when
  // there is something to lose.
  const [confirming, setConfirming] = useState<'parse' | 'write' | null>(null);
  const parsing = useSlotTask('script:parse');
  const writing = useSlotTask('script:generate');
  const lastParse = useLatestSlotTask('script:parse');
  const lastWrite = useLatestSlotTask('script:generate');

  const run = async (start: () => Promise<unknown>) => {
    setError(null);
    try {
      // The task writes into the project: save pending edits first, or they would clash with it.
      await editor.flush();
      await start();
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };

  const parse = () => void run(() => parseScript(project.id, project.raw_script));
  const write = () => void run(() => writeScript(project.id, idea.trim(), genre.trim(), project.target_duration));
  const counts = {
    characters: project.script_data?.characters.length ?? 0,
    scenes: project.script_data?.scenes.length ?? 0,
    shots: project.shots.length,
    chars: project.raw_script.length,
  };

  return (
    <section className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-4">
      <TextArea
        label={t('script.raw')}
        placeholder={t('script.placeholder')}
        rows={14}
        disabled={!canEdit}
        value={project.raw_script}
        onChange={(e) => change({ raw_script: e.target.value })}
        className="font-mono"
      />
      <div className="flex flex-wrap items-center gap-2">
        <Button variant="primary" disabled={!canEdit || !project.raw_script.trim() || !!parsing} onClick={() => (project.script_data ? setConfirming('parse') : parse())}>
          {parsing ? t('script.parsing') : t('script.parse')}
        </Button>
        <Button disabled={!canEdit} aria-expanded={ideaOpen} onClick={() => setIdeaOpen((o) => !o)}>
          {t('script.fromIdea')}
        </Button>
        {parsing && <div className="w-40"><ProgressBar value={parsing.progress} label={t('script.parsing')} /></div>}
      </div>
      {ideaOpen && (
        <div className="grid grid-cols-1 gap-3 rounded-md bg-stone-50 p-3 md:grid-cols-[1fr_10rem_auto] md:items-end">
          <TextField label={t('script.idea')} placeholder={t('script.ideaPlaceholder')} value={idea} onChange={(e) => setIdea(e.target.value)} />
          <TextField label={t('script.genre')} value={genre} onChange={(e) => setGenre(e.target.value)} />
          <Button variant="primary" disabled={!idea.trim() || !!writing} onClick={() => (project.raw_script.trim() ? setConfirming('write') : write())}>
            {t('script.write')}
          </Button>
          {writing && <ProgressBar value={writing.progress} label={t('script.write')} />}
        </div>
      )}
      <ErrorNote error={error ?? lastParse?.error ?? lastWrite?.error} />
      {confirming && (
        <ConfirmDialog
          danger
          title={confirming === 'parse' ? t('script.replaceTitle') : t('script.rewriteTitle')}
          body={confirming === 'parse' ? t('script.replaceConfirm', counts) : t('script.rewriteConfirm', counts)}
          confirmLabel={confirming === 'parse' ? t('script.parse') : t('script.write')}
          onClose={() => setConfirming(null)}
          onConfirm={() => {
            setConfirming(null);
            if (confirming === 'parse') parse();
            else write();
          }}
        />
      )}
    </section>
  );
}
