import { SelectField, TextArea } from '@/components/field';
import { Button } from '@/components/button';
import { useI18n } from '@/i18n';
import { moveItem, newId, removeAt, replaceAt } from '@/lib/list';
import type { StoryParagraph } from '@/api/types';
import { ListControls } from '../components/list-controls';
import { useScriptData } from './use-script-data';

export function ParagraphsEditor() {
  const { t } = useI18n();
  const { data, update, canEdit } = useScriptData();
  if (!data) return null;
  const paragraphs = data.storyParagraphs;
  const set = (next: StoryParagraph[]) => update({ storyParagraphs: next });
  const add = () => set([...paragraphs, { id: newId('p'), text: '', sceneRefId: data.scenes[0]?.id ?? '' }]);

  return (
    <div className="flex flex-col gap-3">
      {paragraphs.map((p, i) => (
        <div key={p.id} className="flex gap-3 rounded-md border border-stone-200 bg-white p-3">
          <div className="flex-1">
            <TextArea label={`#${i + 1}`} rows={2} disabled={!canEdit} value={p.text} onChange={(e) => set(replaceAt(paragraphs, i, { text: e.target.value }))} />
          </div>
          <div className="flex w-44 flex-col gap-2">
            <ListControls index={i} count={paragraphs.length} label={`#${i + 1}`} disabled={!canEdit} onMove={(a, b) => set(moveItem(paragraphs, a, b))} onDelete={() => set(removeAt(paragraphs, i))} />
            <SelectField label={t('script.scene')} disabled={!canEdit} value={p.sceneRefId} onChange={(e) => set(replaceAt(paragraphs, i, { sceneRefId: e.target.value }))}>
              <option value="">{t('common.none')}</option>
              {data.scenes.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.location}
                </option>
              ))}
            </SelectField>
          </div>
        </div>
      ))}
      <Button size="sm" className="self-start" disabled={!canEdit} onClick={add}>
        + {t('script.addParagraph')}
      </Button>
    </div>
  );
}
