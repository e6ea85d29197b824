import { Button } from '@/components/button';
import { TextField } from '@/components/field';
import { ImageSlot } from '@/components/image-preview';
import { useI18n } from '@/i18n';
import { newId, removeAt, replaceAt } from '@/lib/list';
import type { Character, CharacterVariation } from '@/api/types';
import { useProject } from '../project-context';
import { generateImage, slotKey } from '../generation';
import { GenerateButton } from '../components/generate-button';
import { useSlotTask } from '../use-slot-task';
import { StaleMark, TakesStrip } from '@/features/takes/takes-strip';
import { targetSlotKey } from '@/features/takes/takes-api';
import { VoicePicker } from '@/features/voices/voice-picker';

interface Props {
  character: Character;
  onChange: (character: Character) => void;
  batchRunning: boolean;
}

function VariationRow({ character, variation, index, onChange }: { character: Character; variation: CharacterVariation; index: number; onChange: (c: Character) => void }) {
  const { t } = useI18n();
  const { project, canEdit } = useProject();
  const target = { type: 'variation' as const, character_id: character.id, variation_id: variation.id };
  const busy = !!useSlotTask(slotKey(target));
  const set = (patch: Partial<CharacterVariation>) => onChange({ ...character, variations: replaceAt(character.variations, index, patch) });
  return (
    <li className="flex gap-2">
      <div className="w-16 shrink-0">
        <ImageSlot url={variation.referenceImage} alt={`${character.name} · ${variation.name}`} aspect="aspect-[3/4]" busy={busy} />
      </div>
      <div className="flex min-w-0 flex-1 flex-col gap-1">
        <TextField label={t('assets.variationName')} disabled={!canEdit} value={variation.name} onChange={(e) => set({ name: e.target.value })} />
        <TextField label={t('script.visualPrompt')} disabled={!canEdit} value={variation.visualPrompt} onChange={(e) => set({ visualPrompt: e.target.value })} />
        <div className="flex gap-1">
          <GenerateButton
            slot={slotKey(target)}
            label={variation.referenceImage ? t('common.regenerate') : t('common.generate')}
            disabled={!character.referenceImage}
            start={() => generateImage(project.id, target)}
          />
          <Button size="sm" variant="ghost" disabled={!canEdit} onClick={() => onChange({ ...character, variations: removeAt(character.variations, index) })}>
            {t('common.delete')}
          </Button>
        </div>
      </div>
    </li>
  );
}

/** A character sheet (3:4) with its wardrobe variations, which keep the base look's face. */
export function CharacterCard({ character, onChange, batchRunning }: Props) {
  const { t } = useI18n();
  const { project, canEdit } = useProject();
  const target = { type: 'character' as const, character_id: character.id };
  const busy = !!useSlotTask(slotKey(target)) || (batchRunning && !character.referenceImage);
  const addVariation = () =>
    onChange({ ...character, variations: [...character.variations, { id: newId('var'), name: '', visualPrompt: character.visualPrompt ?? '' }] });

  return (
    <article className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-3" data-testid="character-card">
      <ImageSlot url={character.referenceImage} alt={character.name} aspect="aspect-[3/4]" busy={busy} />
      <TakesStrip slot={targetSlotKey(target)} taskSlot={slotKey(target)} />
      <div>
        <h3 className="font-semibold">
          {character.name} <StaleMark stale={character.stale} />
        </h3>
        <p className="line-clamp-2 text-xs text-stone-500">{character.visualPrompt}</p>
      </div>
      <GenerateButton
        slot={slotKey(target)}
        busyElsewhere={batchRunning && !character.referenceImage}
        label={character.referenceImage ? t('common.regenerate') : t('common.generate')}
        start={() => generateImage(project.id, target)}
      />
      <details className="text-sm" data-testid="character-voice">
        <summary className="cursor-pointer text-xs font-medium text-stone-600">
          {t('voice.title')}
          {character.voice?.voiceId ? ` · ${character.voice.voiceId}` : ''}
        </summary>
        <div className="mt-2">
          <VoicePicker voice={character.voice} language={project.language} disabled={!canEdit} onChange={(voice) => onChange({ ...character, voice })} />
        </div>
      </details>
      <details className="text-sm">
        <summary className="cursor-pointer text-xs font-medium text-stone-600">
          {t('assets.variations')} ({character.variations.length})
        </summary>
        <ul className="mt-2 flex flex-col gap-3">
          {character.variations.map((v, i) => (
            <VariationRow key={v.id} character={character} variation={v} index={i} onChange={onChange} />
          ))}
        </ul>
        <Button size="sm" className="mt-2" disabled={!canEdit} onClick={addVariation}>
          + {t('assets.addVariation')}
        </Button>
      </details>
    </article>
  );
}
