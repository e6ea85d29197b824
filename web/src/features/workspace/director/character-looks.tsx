import { useState } from 'react';
import { ErrorNote } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { Shot } from '@/api/types';
import { useProject } from '../project-context';
import { patchShot } from '../shot-api';

/** The shot's characters, each with a picker of the wardrobe it wears in this shot. */
export function CharacterLooks({ shot }: { shot: Shot }) {
  const { t } = useI18n();
  const { project, canEdit, reload } = useProject();
  const [error, setError] = useState<unknown>(null);
  const characters = (project.script_data?.characters ?? []).filter((c) => shot.characters.includes(c.id));
  if (characters.length === 0) return null;

  const pick = async (characterId: string, variationId: string) => {
    setError(null);
    // A merge patch: `null` removes the entry, i.e. back to the base look.
    try {
      await patchShot(project.id, shot.id, { characterVariations: { [characterId]: variationId || null } });
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };

  return (
    <section className="rounded-md border border-stone-200 bg-white p-3">
      <p className="mb-2 text-xs font-medium text-stone-500">{t('director.characters')}</p>
      <ul className="flex flex-wrap gap-4">
        {characters.map((c) => {
          const chosen = shot.characterVariations?.[c.id] ?? '';
          const look = c.variations.find((v) => v.id === chosen);
          const image = look?.referenceImage ?? c.referenceImage;
          return (
            <li key={c.id} className="flex items-center gap-2">
              <div className="h-14 w-11 overflow-hidden rounded bg-stone-200">{image && <img src={image} alt={c.name} className="h-full w-full object-cover" />}</div>
              <div className="flex flex-col gap-1 text-sm">
                <span className="font-medium">{c.name}</span>
                <select
                  aria-label={`${t('director.wardrobe')}: ${c.name}`}
                  disabled={!canEdit}
                  className="rounded border border-stone-300 px-1.5 py-0.5 text-xs"
                  value={chosen}
                  onChange={(e) => void pick(c.id, e.target.value)}
                >
                  <option value="">{t('director.baseLook')}</option>
                  {c.variations.map((v) => (
                    <option key={v.id} value={v.id}>
                      {v.name || v.id}
                    </option>
                  ))}
                </select>
              </div>
            </li>
          );
        })}
      </ul>
      <ErrorNote error={error} />
    </section>
  );
}
