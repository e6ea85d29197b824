import { TextArea, TextField } from '@/components/field';
import { Button } from '@/components/button';
import { useI18n } from '@/i18n';
import { moveItem, newId, removeAt, replaceAt } from '@/lib/list';
import type { Scene } from '@/api/types';
import { ListControls } from '../components/list-controls';
import { useScriptData } from './use-script-data';
import { sceneLosses } from '../losses';

export function ScenesEditor() {
  const { t } = useI18n();
  const { data, update, canEdit } = useScriptData();
  if (!data) return null;
  const scenes = data.scenes;
  const set = (next: Scene[]) => update({ scenes: next });
  const add = () => set([...scenes, { id: newId('scene'), location: '', time: '', atmosphere: '', visualPrompt: '' }]);

  return (
    <div className="flex flex-col gap-3">
      {scenes.map((s, i) => (
        <div key={s.id} className="rounded-md border border-stone-200 bg-white p-3" data-testid="scene-row">
          <div className="mb-2 flex items-center gap-2">
            <span className="mr-auto text-sm font-semibold">{s.location || '—'}</span>
            <ListControls index={i} count={scenes.length} label={s.location} disabled={!canEdit} losing={sceneLosses(s, t)} onMove={(a, b) => set(moveItem(scenes, a, b))} onDelete={() => set(removeAt(scenes, i))} />
          </div>
          <div className="grid grid-cols-1 gap-2 md:grid-cols-3">
            <TextField label={t('script.location')} disabled={!canEdit} value={s.location} onChange={(e) => set(replaceAt(scenes, i, { location: e.target.value }))} />
            <TextField label={t('script.time')} disabled={!canEdit} value={s.time} onChange={(e) => set(replaceAt(scenes, i, { time: e.target.value }))} />
            <TextField label={t('script.atmosphere')} disabled={!canEdit} value={s.atmosphere} onChange={(e) => set(replaceAt(scenes, i, { atmosphere: e.target.value }))} />
          </div>
          <div className="mt-2">
            <TextArea label={t('script.visualPrompt')} rows={2} disabled={!canEdit} value={s.visualPrompt ?? ''} onChange={(e) => set(replaceAt(scenes, i, { visualPrompt: e.target.value }))} />
          </div>
        </div>
      ))}
      <Button size="sm" className="self-start" disabled={!canEdit} onClick={add}>
        + {t('script.addScene')}
      </Button>
    </div>
  );
}
