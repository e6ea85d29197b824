import { EmptyState } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { Character } from '@/api/types';
import { useProject } from '../project-context';
import { batchSlot } from '../generation';
import { useSlotTask } from '../use-slot-task';
import { BatchButton } from '../components/batch-button';
import { CharacterCard } from './character-card';
import { SceneCard } from './scene-card';

export function AssetsStage() {
  const { t } = useI18n();
  const { project, change } = useProject();
  const batchRunning = !!useSlotTask(batchSlot('images'));
  const data = project.script_data;

  const setCharacter = (next: Character) => {
    if (!data) return;
    change({ script_data: { ...data, characters: data.characters.map((c) => (c.id === next.id ? next : c)) } });
  };

  return (
    <div className="mx-auto flex max-w-6xl flex-col gap-5 p-6">
      <div className="flex flex-wrap items-start gap-3">
        <h2 className="mr-auto text-xl font-semibold">02 · {t('stage.assets')}</h2>
        {data && <BatchButton kind="images" label={t('assets.generateAll')} />}
      </div>
      {!data || (data.characters.length === 0 && data.scenes.length === 0) ? (
        <EmptyState>{t('assets.empty')}</EmptyState>
      ) : (
        <>
          <section>
            <h3 className="mb-3 text-sm font-semibold text-stone-600">{t('assets.characters')}</h3>
            <div className="grid grid-cols-2 gap-4 md:grid-cols-3 xl:grid-cols-4">
              {data.characters.map((c) => (
                <CharacterCard key={c.id} character={c} onChange={setCharacter} batchRunning={batchRunning} />
              ))}
            </div>
          </section>
          <section>
            <h3 className="mb-3 text-sm font-semibold text-stone-600">{t('assets.scenes')}</h3>
            <div className="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3">
              {data.scenes.map((s) => (
                <SceneCard key={s.id} scene={s} batchRunning={batchRunning} />
              ))}
            </div>
          </section>
        </>
      )}
    </div>
  );
}
