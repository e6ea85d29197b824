import { TextArea, TextField } from '@/components/field';
import { Button } from '@/components/button';
import { useI18n } from '@/i18n';
import { moveItem, newId, removeAt, replaceAt } from '@/lib/list';
import type { Character } from '@/api/types';
import { ListControls } from '../components/list-controls';
import { useScriptData } from './use-script-data';
import { characterLosses } from '../losses';

export function CharactersEditor() {
  const { t } = useI18n();
  const { data, update, canEdit } = useScriptData();
  if (!data) return null;
  const characters = data.characters;
  const set = (next: Character[]) => update({ characters: next });
  const add = () =>
    set([...characters, { id: newId('char'), name: '', gender: '', age: '', personality: '', visualPrompt: '', variations: [] }]);

  return (
    <div className="flex flex-col gap-3">
      {characters.map((c, i) => (
        <div key={c.id} className="rounded-md border border-stone-200 bg-white p-3" data-testid="character-row">
          <div className="mb-2 flex items-center gap-2">
            <span className="mr-auto text-sm font-semibold">{c.name || '—'}</span>
            <ListControls index={i} count={characters.length} label={c.name} disabled={!canEdit} losing={characterLosses(c, t)} onMove={(a, b) => set(moveItem(characters, a, b))} onDelete={() => set(removeAt(characters, i))} />
          </div>
          <div className="grid grid-cols-2 gap-2 md:grid-cols-4">
            <TextField label={t('script.name')} disabled={!canEdit} value={c.name} onChange={(e) => set(replaceAt(characters, i, { name: e.target.value }))} />
            <TextField label={t('script.gender')} disabled={!canEdit} value={c.gender} onChange={(e) => set(replaceAt(characters, i, { gender: e.target.value }))} />
            <TextField label={t('script.age')} disabled={!canEdit} value={c.age} onChange={(e) => set(replaceAt(characters, i, { age: e.target.value }))} />
            <TextField label={t('script.personality')} disabled={!canEdit} value={c.personality} onChange={(e) => set(replaceAt(characters, i, { personality: e.target.value }))} />
          </div>
          <div className="mt-2">
            <TextArea label={t('script.visualPrompt')} rows={2} disabled={!canEdit} value={c.visualPrompt ?? ''} onChange={(e) => set(replaceAt(characters, i, { visualPrompt: e.target.value }))} />
          </div>
        </div>
      ))}
      <Button size="sm" className="self-start" disabled={!canEdit} onClick={add}>
        + {t('script.addCharacter')}
      </Button>
    </div>
  );
}
