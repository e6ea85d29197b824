// A shot's detail: its scene, its characters and their looks, its frames and its clip.
import { useState } from 'react';
import { Button } from '@/components/button';
import { ErrorNote } from '@/components/feedback';
import { useI18n, type MessageKey } from '@/i18n';
import type { Keyframe, KeyframeType, Shot } from '@/api/types';
import { useProject } from '../project-context';
import { patchShot } from '../shot-api';
import { KeyframePanel } from './keyframe-panel';
import { ClipPanel } from './clip-panel';
import { VoicePanel } from './voice-panel';
import { CharacterLooks } from './character-looks';

const FRAME_ORDER: KeyframeType[] = ['start', 'end', 'full'];

export function ShotDetail({ shot, index }: { shot: Shot; index: number }) {
  const { t } = useI18n();
  const { project, canEdit, reload } = useProject();
  const [error, setError] = useState<unknown>(null);
  const scene = project.script_data?.scenes.find((s) => s.id === shot.sceneId);
  const aspect = project.image_size === '2560x1440' ? 'aspect-video' : 'aspect-[9/16] w-full max-w-48 mx-auto';
  const frames = [...shot.keyframes].sort((a, b) => FRAME_ORDER.indexOf(a.type) - FRAME_ORDER.indexOf(b.type));
  const missing = FRAME_ORDER.filter((type) => !shot.keyframes.some((k) => k.type === type));

  const addFrame = async (type: KeyframeType) => {
    setError(null);
    const start = shot.keyframes.find((k) => k.type === 'start');
    const keyframe: Keyframe = { id: `${shot.id}-${type}`, type, visualPrompt: start?.visualPrompt ?? shot.actionSummary, status: 'pending' };
    const patch: Record<string, unknown> = { keyframes: [...shot.keyframes, keyframe] };
    if (type === 'end' && shot.interval) patch.interval = { endKeyframeId: keyframe.id };
    try {
      await patchShot(project.id, shot.id, patch);
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };

  return (
    <div className="flex flex-col gap-4" data-testid="shot-detail">
      <header className="flex flex-col gap-1">
        <h3 className="text-lg font-semibold">{t('script.shotN', { n: index + 1 })}</h3>
        <p className="text-sm text-stone-700">{shot.actionSummary}</p>
        {shot.dialogue && <p className="text-sm text-stone-500 italic">“{shot.dialogue}”</p>}
        <p className="text-xs text-stone-500">
          {shot.shotSize} · {shot.cameraMovement}
        </p>
      </header>
      {scene && (
        <section className="flex gap-3 rounded-md border border-stone-200 bg-white p-3">
          {scene.referenceImage && <img src={scene.referenceImage} alt={scene.location} className="h-16 w-28 rounded object-cover" />}
          <div className="text-sm">
            <p className="text-xs font-medium text-stone-500">{t('director.sceneContext')}</p>
            <p className="font-medium">
              {scene.location} · {scene.time}
            </p>
            <p className="text-xs text-stone-500">{scene.atmosphere}</p>
          </div>
        </section>
      )}
      <CharacterLooks shot={shot} />
      <div className="grid grid-cols-1 gap-3 lg:grid-cols-2">
        {frames.map((k) => (
          <KeyframePanel key={k.id} shot={shot} keyframe={k} aspect={aspect} />
        ))}
      </div>
      {canEdit && missing.length > 0 && (
        <div className="flex gap-2">
          {missing.map((type) => (
            <Button key={type} size="sm" onClick={() => void addFrame(type)}>
              + {t('director.addFrame', { type: t(`director.frame.${type}` as MessageKey) })}
            </Button>
          ))}
        </div>
      )}
      <ErrorNote error={error} />
      <ClipPanel shot={shot} />
      <VoicePanel shot={shot} />
    </div>
  );
}
