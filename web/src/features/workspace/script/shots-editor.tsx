import { SelectField, TextArea, TextField } from '@/components/field';
import { Button } from '@/components/button';
import { useI18n } from '@/i18n';
import { moveItem, newId, removeAt, replaceAt } from '@/lib/list';
import type { Shot } from '@/api/types';
import { ListControls } from '../components/list-controls';
import { useScriptData } from './use-script-data';
import { shotLosses } from '../losses';

/** A new shot has a start frame and a clip slot, like the ones the parser makes. */
export function blankShot(sceneId: string): Shot {
  const id = newId('shot');
  return {
    id,
    sceneId,
    actionSummary: '',
    cameraMovement: '',
    characters: [],
    keyframes: [{ id: `${id}-start`, type: 'start', visualPrompt: '', status: 'pending' }],
    interval: { id: `${id}-clip`, startKeyframeId: `${id}-start`, endKeyframeId: '', duration: 5, motionStrength: 5, status: 'pending' },
  };
}

export function ShotsEditor() {
  const { t } = useI18n();
  const { data, shots, setShots, canEdit } = useScriptData();
  const scenes = data?.scenes ?? [];
  const characters = data?.characters ?? [];

  return (
    <div className="flex flex-col gap-3">
      {shots.map((shot, i) => {
        const patch = (change: Partial<Shot>) => setShots(replaceAt(shots, i, change));
        const label = t('script.shotN', { n: i + 1 });
        return (
          <div key={shot.id} className="rounded-md border border-stone-200 bg-white p-3" data-testid="shot-row">
            <div className="mb-2 flex items-center gap-2">
              <span className="mr-auto text-sm font-semibold">{label}</span>
              <ListControls index={i} count={shots.length} label={label} disabled={!canEdit} losing={shotLosses(shot, t)} onMove={(a, b) => setShots(moveItem(shots, a, b))} onDelete={() => setShots(removeAt(shots, i))} />
            </div>
            <div className="grid grid-cols-1 gap-2 md:grid-cols-3">
              <SelectField label={t('script.scene')} disabled={!canEdit} value={shot.sceneId} onChange={(e) => patch({ sceneId: e.target.value })}>
                {scenes.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.location}
                  </option>
                ))}
              </SelectField>
              <TextField label={t('script.camera')} disabled={!canEdit} value={shot.cameraMovement} onChange={(e) => patch({ cameraMovement: e.target.value })} />
              <TextField label={t('script.shotSize')} disabled={!canEdit} value={shot.shotSize ?? ''} onChange={(e) => patch({ shotSize: e.target.value })} />
            </div>
            <div className="mt-2 grid grid-cols-1 gap-2 md:grid-cols-2">
              <TextArea label={t('script.action')} rows={2} disabled={!canEdit} value={shot.actionSummary} onChange={(e) => patch({ actionSummary: e.target.value })} />
              <TextArea label={t('script.dialogue')} rows={2} disabled={!canEdit} value={shot.dialogue ?? ''} onChange={(e) => patch({ dialogue: e.target.value })} />
            </div>
            {characters.length > 0 && (
              <fieldset className="mt-2 flex flex-wrap gap-3 text-sm">
                <legend className="mb-1 text-xs font-medium text-stone-600">{t('director.characters')}</legend>
                {characters.map((c) => (
                  <label key={c.id} className="flex items-center gap-1">
                    <input
                      type="checkbox"
                      disabled={!canEdit}
                      checked={shot.characters.includes(c.id)}
                      onChange={(e) => patch({ characters: e.target.checked ? [...shot.characters, c.id] : shot.characters.filter((id) => id !== c.id) })}
                    />
                    {c.name}
                  </label>
                ))}
              </fieldset>
            )}
          </div>
        );
      })}
      <Button size="sm" className="self-start" disabled={!canEdit || scenes.length === 0} onClick={() => setShots([...shots, blankShot(scenes[0]?.id ?? '')])}>
        + {t('script.addShot')}
      </Button>
    </div>
  );
}
