import { StatusBadge } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { Shot } from '@/api/types';
import { useProject } from '../project-context';
import { generateVoice, voiceSlot } from '../generation';
import { GenerateButton } from '../components/generate-button';
import { hasDialogue } from '../batch-plan';
import { useSlotTask } from '../use-slot-task';
import { StaleMark, TakesStrip } from '@/features/takes/takes-strip';
import { takeSlotKey } from '@/features/takes/takes-api';

/** The shot's dialogue, spoken: each line in its speaker's voice, laid under the clip on merge. */
export function VoicePanel({ shot }: { shot: Shot }) {
  const { t } = useI18n();
  const { project } = useProject();
  const task = useSlotTask(voiceSlot(shot.id));
  if (!hasDialogue(shot.dialogue)) return null;
  const voice = shot.voice;
  // Lines longer than the clip: the merge holds the clip's last frame until they are said.
  const clip = shot.interval?.duration;
  const over = voice?.audioUrl && voice.duration && clip ? voice.duration + 0.25 - clip : 0;
  return (
    <section className="flex flex-col gap-3 rounded-md border border-stone-200 bg-white p-3" data-testid="voice-panel">
      <div className="flex items-center gap-2">
        <h4 className="mr-auto text-sm font-semibold">{t('voice.shot')}</h4>
        <StaleMark stale={voice?.stale} />
        <StatusBadge status={task ? 'generating' : (voice?.status ?? 'pending')} of="slot" />
      </div>
      <p className="whitespace-pre-line text-xs text-stone-600">{shot.dialogue}</p>
      {voice?.audioUrl ? (
        <audio key={voice.audioUrl} src={voice.audioUrl} controls className="w-full" data-testid="voice-audio" />
      ) : (
        <p className="text-sm text-stone-500">{t('voice.none')}</p>
      )}
      {over > 0.05 && (
        <p className="rounded bg-amber-50 px-2 py-1 text-xs text-amber-800" data-testid="voice-longer">
          {t('voice.longer', { seconds: over.toFixed(1) })}
        </p>
      )}
      <TakesStrip slot={takeSlotKey({ type: 'voice', shotId: shot.id })} taskSlot={voiceSlot(shot.id)} />
      <GenerateButton
        slot={voiceSlot(shot.id)}
        busyElsewhere={voice?.status === 'generating'}
        label={voice?.audioUrl ? t('common.regenerate') : t('voice.generate')}
        start={() => generateVoice(project.id, shot.id)}
      />
    </section>
  );
}
