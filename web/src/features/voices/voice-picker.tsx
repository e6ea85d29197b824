import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Button } from '@/components/button';
import { SelectField } from '@/components/field';
import { ErrorNote } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { CharacterVoice } from '@/api/types';
import { listVoices, previewVoice, voicesOf } from './voices-api';

const EMOTIONS = ['happy', 'sad', 'angry', 'fearful', 'surprised', 'calm'] as const;

interface Props {
  voice: CharacterVoice | undefined;
  language: string;
  disabled: boolean;
  onChange: (voice: CharacterVoice) => void;
}

/** A character's voice: provider, voice, speed, pitch and emotion, with a sample to hear first. */
export function VoicePicker({ voice = {}, language, disabled, onChange }: Props) {
  const { t } = useI18n();
  const voices = useQuery({ queryKey: ['voices'], queryFn: listVoices, staleTime: 10 * 60_000 });
  const [error, setError] = useState<unknown>(null);
  const [playing, setPlaying] = useState(false);
  const options = voicesOf(voices.data, voice.provider);
  const set = (patch: Partial<CharacterVoice>) => onChange({ ...voice, ...patch });

  const preview = async () => {
    setError(null);
    setPlaying(true);
    try {
      const url = await previewVoice(voice, language);
      const audio = new Audio(url);
      audio.onended = () => URL.revokeObjectURL(url);
      await audio.play().catch(() => undefined);
    } catch (cause) {
      setError(cause);
    } finally {
      setPlaying(false);
    }
  };

  return (
    <div className="flex flex-col gap-2" data-testid="voice-picker">
      <div className="grid grid-cols-2 gap-2">
        <SelectField
          label={t('voice.provider')}
          disabled={disabled}
          value={voice.provider ?? ''}
          onChange={(e) => set({ provider: e.target.value || undefined, voiceId: undefined })}
        >
          <option value="">{t('voice.defaultProvider')}</option>
          {(voices.data ?? []).map((p) => (
            <option key={p.provider} value={p.provider}>
              {p.provider}
            </option>
          ))}
        </SelectField>
        <SelectField label={t('voice.voice')} disabled={disabled} value={voice.voiceId ?? ''} onChange={(e) => set({ voiceId: e.target.value || undefined })}>
          <option value="">{t('voice.defaultVoice')}</option>
          {options.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name}
            </option>
          ))}
        </SelectField>
      </div>
      <div className="grid grid-cols-3 gap-2">
        <label className="flex flex-col gap-1 text-xs font-medium text-stone-600">
          {t('voice.speed')} {voice.speed ?? 1}×
          <input type="range" min={0.5} max={2} step={0.1} disabled={disabled} value={voice.speed ?? 1} onChange={(e) => set({ speed: Number(e.target.value) })} />
        </label>
        <label className="flex flex-col gap-1 text-xs font-medium text-stone-600">
          {t('voice.pitch')} {voice.pitch ?? 0}
          <input type="range" min={-12} max={12} step={1} disabled={disabled} value={voice.pitch ?? 0} onChange={(e) => set({ pitch: Number(e.target.value) })} />
        </label>
        <SelectField
          label={t('voice.emotion')}
          disabled={disabled}
          value={voice.emotion ?? ''}
          onChange={(e) => set({ emotion: (e.target.value || undefined) as CharacterVoice['emotion'] })}
        >
          <option value="">—</option>
          {EMOTIONS.map((emotion) => (
            <option key={emotion} value={emotion}>
              {t(`voice.emotion.${emotion}`)}
            </option>
          ))}
        </SelectField>
      </div>
      <Button size="sm" disabled={playing} onClick={() => void preview()} data-testid="voice-preview">
        ▶ {playing ? t('voice.previewing') : t('voice.preview')}
      </Button>
      <ErrorNote error={error} />
    </div>
  );
}
