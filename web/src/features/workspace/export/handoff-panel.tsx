// What leaves the product beside the film: subtitles (SRT, WebVTT) and timelines for the editors
// people finish in (OpenTimelineIO, Final Cut Pro XML, CMX 3600 EDL). The timelines name clips
// as the zip of all assets holds them, so unpacking both side by side relinks the media.
import { useState } from 'react';
import { ErrorNote } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { downloadAuthed } from '@/api/download';
import { useProject } from '../project-context';
import { SubtitleEditor } from './subtitle-editor';

const SUBTITLES = [
  { format: 'srt', label: 'SRT' },
  { format: 'vtt', label: 'WebVTT' },
] as const;
const TIMELINES = [
  { format: 'otio', label: 'OpenTimelineIO (.otio)' },
  { format: 'fcpxml', label: 'Final Cut Pro (.fcpxml)' },
  { format: 'edl', label: 'CMX 3600 (.edl)' },
] as const;

export function HandoffPanel() {
  const { t } = useI18n();
  const { project } = useProject();
  const [speakers, setSpeakers] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const fetchFile = (path: string, name: string) => {
    setError(null);
    downloadAuthed(`/api/v1/projects/${project.id}/${path}`, `${project.title}-${name}`).catch(setError);
  };
  const link = 'text-sm font-medium text-amber-700 hover:underline';

  return (
    <section className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-4" data-testid="handoff-panel">
      <h3 className="font-semibold">{t('export.handoff')}</h3>
      <p className="text-xs text-stone-500">{t('export.handoffHint')}</p>
      <div className="flex flex-wrap items-center gap-3">
        <span className="text-sm text-stone-600">{t('export.subtitles')}</span>
        {SUBTITLES.map(({ format, label }) => (
          <button key={format} type="button" className={link} onClick={() => fetchFile(`subtitles?format=${format}&speakers=${speakers}`, `subtitles.${format}`)}>
            ↓ {label}
          </button>
        ))}
        <label className="flex items-center gap-1 text-xs text-stone-600">
          <input type="checkbox" checked={speakers} onChange={(e) => setSpeakers(e.target.checked)} />
          {t('export.speakers')}
        </label>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <span className="text-sm text-stone-600">{t('export.timelines')}</span>
        {TIMELINES.map(({ format, label }) => (
          <button key={format} type="button" className={link} onClick={() => fetchFile(`timeline?format=${format}`, `timeline.${format}`)}>
            ↓ {label}
          </button>
        ))}
      </div>
      <SubtitleEditor />
      <ErrorNote error={error} />
    </section>
  );
}
