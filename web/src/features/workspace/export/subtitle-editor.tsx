// Subtitles as a person edits them: each shot's cues (its dialogue's, until edited) with their
// words and times in seconds from the shot's first frame. Saving one shot keeps its edit on the
// shot (`subtitles`); "back to the dialogue" removes it. Every export follows the edits.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Button } from '@/components/button';
import { ErrorNote } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { api, unwrap } from '@/api/client';
import type { components } from '@/api/schema';
import { useProject } from '../project-context';
import { patchShot } from '../shot-api';

type Cue = components['schemas']['Cue'];
interface Draft {
  text: string;
  speaker: string;
  start: string;
  end: string;
}

const seconds = (ms: number) => String(Math.round(ms) / 1000);

/** A shot's cues as editable rows, times from the shot's first frame. */
export function draftsOf(cues: Cue[]): Draft[] {
  return cues.map((cue) => ({
    text: cue.text,
    speaker: cue.speaker ?? '',
    start: seconds(cue.start_ms - cue.shot_start_ms),
    end: seconds(cue.end_ms - cue.shot_start_ms),
  }));
}

/** The rows as the shot's `subtitles`, or why not (a row without words, or times out of order). */
export function subtitlesOf(drafts: Draft[]): { subtitles?: { text: string; speaker?: string; start: number; end: number }[]; invalid?: number } {
  const subtitles = [];
  for (const [n, draft] of drafts.entries()) {
    const start = Number(draft.start);
    const end = Number(draft.end);
    if (!draft.text.trim() || !Number.isFinite(start) || !Number.isFinite(end) || start < 0 || end <= start || end > 60) return { invalid: n };
    subtitles.push({ text: draft.text.trim(), ...(draft.speaker.trim() ? { speaker: draft.speaker.trim() } : {}), start, end });
  }
  return { subtitles };
}

function ShotCues({ shotId, number, cues, onSaved }: { shotId: string; number: number; cues: Cue[]; onSaved: () => Promise<void> }) {
  const { t } = useI18n();
  const { project, canEdit } = useProject();
  const [drafts, setDrafts] = useState(() => draftsOf(cues));
  const [error, setError] = useState<unknown>(null);
  const [bad, setBad] = useState<number | null>(null);
  const edited = cues.some((c) => c.edited);
  const set = (n: number, patch: Partial<Draft>) => setDrafts((all) => all.map((d, i) => (i === n ? { ...d, ...patch } : d)));

  const save = async (subtitles: unknown) => {
    setError(null);
    try {
      await patchShot(project.id, shotId, { subtitles });
      await onSaved();
    } catch (cause) {
      setError(cause);
    }
  };
  const saveDrafts = () => {
    const checked = subtitlesOf(drafts);
    setBad(checked.invalid ?? null);
    if (checked.subtitles) void save(checked.subtitles);
  };

  return (
    <li className="flex flex-col gap-2 rounded-md border border-stone-200 p-2" data-testid="subtitle-shot">
      <div className="flex items-center gap-2 text-sm">
        <span className="mr-auto font-medium">
          {t('script.shotN', { n: number })}
          {edited && <span className="ml-2 text-xs text-amber-700">{t('subtitles.edited')}</span>}
        </span>
        <Button size="sm" disabled={!canEdit} onClick={() => setDrafts((all) => [...all, { text: '', speaker: '', start: '0', end: '1' }])}>
          + {t('subtitles.add')}
        </Button>
        {edited && (
          <Button size="sm" variant="ghost" disabled={!canEdit} onClick={() => void save(null)}>
            {t('subtitles.reset')}
          </Button>
        )}
        <Button size="sm" variant="primary" disabled={!canEdit} onClick={saveDrafts}>
          {t('common.save')}
        </Button>
      </div>
      {drafts.map((draft, n) => (
        <div key={n} className={`grid grid-cols-[5rem_1fr_4rem_4rem_auto] items-center gap-2 text-sm ${bad === n ? 'rounded bg-red-50' : ''}`}>
          <input aria-label={t('subtitles.speaker')} className="rounded border border-stone-300 px-1" disabled={!canEdit} value={draft.speaker} onChange={(e) => set(n, { speaker: e.target.value })} />
          <input aria-label={t('subtitles.text')} className="rounded border border-stone-300 px-1" disabled={!canEdit} value={draft.text} onChange={(e) => set(n, { text: e.target.value })} />
          <input aria-label={t('subtitles.start')} type="number" step={0.1} min={0} className="rounded border border-stone-300 px-1" disabled={!canEdit} value={draft.start} onChange={(e) => set(n, { start: e.target.value })} />
          <input aria-label={t('subtitles.end')} type="number" step={0.1} min={0} className="rounded border border-stone-300 px-1" disabled={!canEdit} value={draft.end} onChange={(e) => set(n, { end: e.target.value })} />
          <Button size="sm" variant="ghost" disabled={!canEdit} onClick={() => setDrafts((all) => all.filter((_, i) => i !== n))}>
            ×
          </Button>
        </div>
      ))}
      {bad !== null && <p className="text-xs text-red-700">{t('subtitles.invalid')}</p>}
      <ErrorNote error={error} />
    </li>
  );
}

export function SubtitleEditor() {
  const { t } = useI18n();
  const { project, reload } = useProject();
  const queries = useQueryClient();
  const key = ['subtitle-cues', project.id, project.version];
  const cues = useQuery({
    queryKey: key,
    queryFn: async () => (await unwrap(api.GET('/api/v1/projects/{id}/subtitles/cues', { params: { path: { id: project.id } } }))).cues,
  });
  const onSaved = async () => {
    await reload();
    await queries.invalidateQueries({ queryKey: ['subtitle-cues', project.id] });
  };
  return (
    <details className="text-sm" data-testid="subtitle-editor">
      <summary className="cursor-pointer font-medium text-stone-700">{t('subtitles.edit')}</summary>
      <p className="my-2 text-xs text-stone-500">{t('subtitles.hint')}</p>
      <ul className="flex flex-col gap-2">
        {project.shots.map((shot, i) => {
          const own = (cues.data ?? []).filter((c) => c.shot_id === shot.id);
          if (own.length === 0 && !shot.dialogue) return null;
          return <ShotCues key={`${shot.id}:${project.version}`} shotId={shot.id} number={i + 1} cues={own} onSaved={onSaved} />;
        })}
      </ul>
      <ErrorNote error={cues.error} />
    </details>
  );
}
