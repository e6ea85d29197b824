import { useState } from 'react';
import { Button } from '@/components/button';
import { EmptyState, ErrorNote, ProgressBar } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { mergeFilm } from '../generation';
import { useSlotTask } from '../use-slot-task';
import { clipDone } from '../director/shot-status';
import { ArchivePanel } from './archive-panel';
import { HandoffPanel } from './handoff-panel';
import { uploadMusic } from '@/features/voices/music';

export function ExportStage() {
  const { t } = useI18n();
  const { project, canEdit, reload, editor } = useProject();
  const finished = project.shots.filter(clipDone);
  const [selected, setSelected] = useState<Set<string>>(() => new Set(finished.map((s) => s.id)));
  const [error, setError] = useState<unknown>(null);
  const [film, setFilm] = useState<{ width: number; height: number; seconds: number } | null>(null);
  const merging = useSlotTask('film:merge');
  const [music, setMusic] = useState<{ id: string; name: string } | null>(null);
  const [uploading, setUploading] = useState(false);
  const [burn, setBurn] = useState(false);

  const chooseMusic = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    setUploading(true);
    try {
      setMusic({ id: await uploadMusic(project.id, file), name: file.name });
    } catch (cause) {
      setError(cause);
    } finally {
      setUploading(false);
    }
  };

  const toggle = (id: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const merge = async () => {
    setError(null);
    try {
      await editor.flush();
      // The film follows the shot list's order, whatever the order of clicks.
      const shots = project.shots.filter((s) => selected.has(s.id) && clipDone(s)).map((s) => s.id);
      await mergeFilm(project.id, shots, { musicFileId: music?.id, burnSubtitles: burn });
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };
  const chosen = finished.filter((s) => selected.has(s.id)).length;

  return (
    <div className="mx-auto flex max-w-6xl flex-col gap-5 p-6">
      <h2 className="text-xl font-semibold">04 · {t('stage.export')}</h2>
      <section className="rounded-lg border border-stone-200 bg-white p-4">
        <h3 className="mb-3 font-semibold">{t('export.film')}</h3>
        {project.merged_video_url ? (
          <div className="flex flex-col gap-2">
            <video
              key={project.merged_video_url}
              src={project.merged_video_url}
              controls
              preload="metadata"
              className="max-h-[60vh] w-full rounded bg-black"
              data-testid="film-video"
              onLoadedMetadata={(e) => setFilm({ width: e.currentTarget.videoWidth, height: e.currentTarget.videoHeight, seconds: e.currentTarget.duration })}
            />
            <div className="flex flex-wrap items-center gap-3">
              <a href={project.merged_video_url} download={`${project.title}.mp4`} className="text-sm font-medium text-amber-700 hover:underline">
                ↓ {t('export.downloadFilm')}
              </a>
              {film && (
                // The film takes the size of its clips: say which it is, so nobody expects another.
                <span className="text-xs text-stone-500" data-testid="film-size">
                  {t('export.filmSize', { width: film.width, height: film.height, seconds: Math.round(film.seconds) })}
                </span>
              )}
            </div>
          </div>
        ) : (
          <EmptyState>{t('export.noFilm')}</EmptyState>
        )}
      </section>
      <section className="rounded-lg border border-stone-200 bg-white p-4">
        <div className="mb-3 flex flex-wrap items-center gap-3">
          <h3 className="mr-auto font-semibold">{t('export.selected', { n: chosen })}</h3>
          <Button size="sm" disabled={finished.length === 0} onClick={() => setSelected(new Set(finished.map((s) => s.id)))}>
            {t('export.selectFinished')}
          </Button>
          <Button variant="primary" disabled={!canEdit || chosen === 0 || !!merging} onClick={merge}>
            {t('export.merge')}
          </Button>
        </div>
        <div className="mb-3 flex flex-wrap items-center gap-3 text-sm" data-testid="music">
          <span className="font-medium text-stone-700">{t('export.music')}:</span>
          <span className="text-stone-600" data-testid="music-name">{music ? music.name : t('export.musicNone')}</span>
          <label className={`cursor-pointer text-amber-700 hover:underline ${!canEdit || uploading ? 'pointer-events-none opacity-50' : ''}`}>
            {t('export.musicUpload')}
            <input type="file" accept="audio/*,.mp3,.wav,.m4a,.ogg,.flac" className="hidden" data-testid="music-input" onChange={(e) => void chooseMusic(e.target.files?.[0])} />
          </label>
          {music && (
            <Button size="sm" variant="ghost" onClick={() => setMusic(null)}>
              ×
            </Button>
          )}
          <span className="w-full text-xs text-stone-500">{t('export.musicHint')}</span>
          <label className="flex items-center gap-2">
            <input type="checkbox" checked={burn} disabled={!canEdit} onChange={(e) => setBurn(e.target.checked)} data-testid="burn-subtitles" />
            {t('export.burnSubtitles')}
          </label>
        </div>
        {merging && <ProgressBar value={merging.progress} label={t('export.merge')} remainingSecs={merging.remainingSecs} />}
        <ErrorNote error={error} />
        {finished.length === 0 ? (
          <EmptyState>{t('export.noClips')}</EmptyState>
        ) : (
          <ul className="grid grid-cols-2 gap-3 md:grid-cols-4">
            {project.shots.map((shot, i) => {
              const done = clipDone(shot);
              return (
                <li key={shot.id}>
                  <label className={`flex flex-col gap-1 rounded-md border p-2 text-sm ${done ? 'border-stone-200' : 'border-dashed border-stone-200 opacity-50'}`}>
                    <video src={shot.interval?.videoUrl ?? undefined} poster={shot.keyframes.find((k) => k.imageUrl)?.imageUrl ?? undefined} muted preload="none" className="aspect-video w-full rounded bg-stone-800 object-cover" />
                    <span className="flex items-center gap-2">
                      <input type="checkbox" disabled={!done} checked={done && selected.has(shot.id)} onChange={() => toggle(shot.id)} />
                      {t('script.shotN', { n: i + 1 })}
                    </span>
                  </label>
                </li>
              );
            })}
          </ul>
        )}
      </section>
      <ArchivePanel />
      <HandoffPanel />
    </div>
  );
}
