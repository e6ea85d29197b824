import { useEffect, useState } from 'react';
import { StatusBadge } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { Shot } from '@/api/types';
import { useProject } from '../project-context';
import { clipSlot, generateClip } from '../generation';
import { GenerateButton } from '../components/generate-button';
import { useSlotTask } from '../use-slot-task';
import { patchShot } from '../shot-api';
import { StaleMark, TakesStrip } from '@/features/takes/takes-strip';
import { takeSlotKey } from '@/features/takes/takes-api';

/** The shot's clip: player, duration, generate (which paints a missing first frame first). */
export function ClipPanel({ shot }: { shot: Shot }) {
  const { t } = useI18n();
  const { project, canEdit, reload } = useProject();
  const task = useSlotTask(clipSlot(shot.id));
  const interval = shot.interval;
  const [duration, setDuration] = useState(String(interval?.duration ?? 5));
  useEffect(() => {
    setDuration(String(interval?.duration ?? 5));
  }, [interval?.duration]);

  const saveDuration = async () => {
    const seconds = Number(duration);
    if (!interval || !Number.isFinite(seconds) || seconds < 1 || seconds > 60 || seconds === interval.duration) return;
    await patchShot(project.id, shot.id, { interval: { duration: seconds } });
    await reload();
  };

  const hasImage = shot.keyframes.some((k) => k.imageUrl);
  return (
    <section className="flex flex-col gap-3 rounded-md border border-stone-200 bg-white p-3" data-testid="clip-panel">
      <div className="flex items-center gap-2">
        <h4 className="mr-auto text-sm font-semibold">{t('director.clip')}</h4>
        <StaleMark stale={interval?.stale} />
        <StatusBadge status={task ? 'generating' : (interval?.status ?? 'pending')} of="slot" />
      </div>
      {interval?.videoUrl ? (
        <video key={interval.videoUrl} src={interval.videoUrl} poster={shot.keyframes.find((k) => k.imageUrl)?.imageUrl ?? undefined} controls className="max-h-80 w-full rounded bg-black" data-testid="clip-video" />
      ) : (
        <p className="text-sm text-stone-500">{t('director.noClip')}</p>
      )}
      <TakesStrip slot={takeSlotKey({ type: 'clip', shotId: shot.id })} taskSlot={clipSlot(shot.id)} video />
      <div className="flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-1 text-xs font-medium text-stone-600">
          {t('director.duration')}
          <input
            type="number"
            min={1}
            max={60}
            step={0.5}
            disabled={!canEdit}
            value={duration}
            onChange={(e) => setDuration(e.target.value)}
            onBlur={() => void saveDuration()}
            className="w-24 rounded-md border border-stone-300 px-2 py-1 text-sm"
          />
        </label>
        <GenerateButton
          slot={clipSlot(shot.id)}
          variant="primary"
          busyElsewhere={interval?.status === 'generating'}
          label={hasImage ? t('director.generateClip') : t('director.oneClick')}
          start={() => generateClip(project.id, shot.id, Number(duration) || undefined)}
        />
      </div>
    </section>
  );
}
