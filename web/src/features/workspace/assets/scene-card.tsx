import { ImageSlot } from '@/components/image-preview';
import { useI18n } from '@/i18n';
import type { Scene } from '@/api/types';
import { useProject } from '../project-context';
import { generateImage, slotKey } from '../generation';
import { GenerateButton } from '../components/generate-button';
import { useSlotTask } from '../use-slot-task';
import { StaleMark, TakesStrip } from '@/features/takes/takes-strip';
import { targetSlotKey } from '@/features/takes/takes-api';

/** A scene concept (16:9). */
export function SceneCard({ scene, batchRunning }: { scene: Scene; batchRunning: boolean }) {
  const { t } = useI18n();
  const { project } = useProject();
  const target = { type: 'scene' as const, scene_id: scene.id };
  const busy = !!useSlotTask(slotKey(target)) || (batchRunning && !scene.referenceImage);
  return (
    <article className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-3" data-testid="scene-card">
      <ImageSlot url={scene.referenceImage} alt={scene.location} aspect="aspect-video" busy={busy} />
      <TakesStrip slot={targetSlotKey(target)} taskSlot={slotKey(target)} />
      <div>
        <h3 className="font-semibold">
          {scene.location} <span className="text-xs font-normal text-stone-500">{scene.time}</span> <StaleMark stale={scene.stale} />
        </h3>
        <p className="line-clamp-2 text-xs text-stone-500">{scene.visualPrompt ?? scene.atmosphere}</p>
      </div>
      <GenerateButton
        slot={slotKey(target)}
        busyElsewhere={batchRunning && !scene.referenceImage}
        label={scene.referenceImage ? t('common.regenerate') : t('common.generate')}
        start={() => generateImage(project.id, target)}
      />
    </article>
  );
}
